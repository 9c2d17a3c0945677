package vpn

import (
	"context"
	"log/slog"
	"time"

	"github.com/lockgate/lockgate/internal/appkey"
	"github.com/lockgate/lockgate/lockclient"
)

// client builds the lock-check client. Its attempts are bounded by the
// handler's deadline (the context), so one slow answer cannot outlast it.
func (l LockCheck) client(ctx context.Context, log *slog.Logger) (*lockclient.Client, error) {
	secret, err := l.signingKey(ctx, log)
	if err != nil {
		return nil, err
	}
	key, err := lockclient.DecodeKey(secret)
	if err != nil {
		return nil, err
	}
	return lockclient.New(lockclient.Config{APIURI: l.APIURI, Path: l.APIPath, Issuer: l.AppURI, SigningKey: key, Timeout: 3 * time.Second, Retries: 1})
}

// keySource is where the application's key is kept.
func (l LockCheck) keySource() appkey.Source {
	return appkey.Source{
		File: string(l.SigningKeyFile), SecretARN: l.SigningKeySecretARN, Plain: l.SigningKey,
		FileName: "signing_key_file", SecretName: "signing_key_secret_arn", PlainName: "LOCKGATE_VPN_SIGNING_KEY",
	}
}

// signingKey reads the application's key from where the section says.
func (l LockCheck) signingKey(ctx context.Context, log *slog.Logger) (string, error) {
	return appkey.Load(ctx, l.keySource(), log)
}
