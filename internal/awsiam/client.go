package awsiam

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go/middleware"
)

// NewIAMClient is the IAM client the responder uses: the SDK's, with
// every operation — its retries included — bounded by callTimeout
// (DefaultCallTimeout when zero), so that an endpoint that accepts the
// connection and never answers costs one call's timeout, not the event.
func NewIAMClient(cfg aws.Config, callTimeout time.Duration, optFns ...func(*iam.Options)) *iam.Client {
	if callTimeout <= 0 {
		callTimeout = DefaultCallTimeout
	}
	opts := append([]func(*iam.Options){func(o *iam.Options) {
		o.APIOptions = append(o.APIOptions, callDeadline(callTimeout))
	}}, optFns...)
	return iam.NewFromConfig(cfg, opts...)
}

// callDeadline adds a timeout to each operation, ahead of the retry loop.
func callDeadline(d time.Duration) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("LockgateCallTimeout",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				ctx, cancel := context.WithTimeoutCause(ctx, d, fmt.Errorf("IAM did not answer within the call timeout of %s", d))
				defer cancel()
				out, md, err := next.HandleInitialize(ctx, in)
				if err != nil && ctx.Err() != nil {
					err = fmt.Errorf("%w (%v)", err, context.Cause(ctx))
				}
				return out, md, err
			}), middleware.Before)
	}
}
