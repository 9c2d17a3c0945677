package vpn

import (
	"context"
	"encoding/json"

	"github.com/lockgate/lockgate/internal/config"
	"github.com/lockgate/lockgate/internal/geo"
	"github.com/lockgate/lockgate/internal/webacl"
)

// Settings configure the Lambda function: the vpn, geo and waf sections,
// from LOCKGATE_* variables and, when LOCKGATE_CONFIG names one, a
// configuration file in the function's bundle (for IP sets a web ACL
// names, or endpoint policies). The same loader as lockgate serve.
type Settings struct {
	VPN Config        `yaml:"vpn"`
	Geo geo.Config    `yaml:"geo"`
	WAF webacl.Config `yaml:"waf"`
}

// SettingsFromEnv reads the function's settings. A value that cannot be
// read (LOCKGATE_VPN_CHECK_LOCK=maybe) is an error, never a silent
// default.
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	var s Settings
	_, err := config.Load(getenv("LOCKGATE_CONFIG"), getenv, &s)
	return s, err
}

// LambdaHandler answers Client VPN's invocations. It never returns an
// error: a request it cannot read is denied in a response Client VPN
// understands, with the reason in the posture statuses and the log.
func (h *Handler) LambdaHandler() func(context.Context, json.RawMessage) (Response, error) {
	return func(ctx context.Context, ev json.RawMessage) (Response, error) {
		return h.HandleEvent(ctx, ev).Response, nil
	}
}

// HandleEvent decides one raw event (the Lambda function's and lockgate
// lambda vpn-connect --event's path).
func (h *Handler) HandleEvent(ctx context.Context, ev []byte) Outcome {
	req, err := ParseRequest(ev)
	if err != nil {
		o := h.deny(req, h.def, ReasonBadRequest, geo.Location{}, err.Error())
		o.Response.SchemaVersion = DefaultVersion
		h.log.Warn("vpn: connection denied", "reason", o.Reason, "detail", o.Detail)
		return o
	}
	return h.Decide(ctx, req)
}
