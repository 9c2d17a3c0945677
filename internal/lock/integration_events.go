package lock

import "context"

// IntegrationEvents lists what integrations reported about the token's
// account, newest first, those of source when it is set. The token is
// verified as for a lock check: an integration holding the application's
// key reads back what it (or another process of it) recorded — the AWS
// IAM responder keeps there the role sessions each person signed in
// through.
func (s *Service) IntegrationEvents(ctx context.Context, token, source string, limit int) ([]AccountEvent, error) {
	app, sub, _, err := s.verifyCurrent(ctx, token)
	if err != nil {
		return nil, err
	}
	// Events are kept under the account's canonical key, as ReportEvent
	// recorded them.
	username := CanonicalUsername(app.Settings.UsernameMatch, sub)
	if username == "" {
		return nil, unauthorized("sub %q has no visible characters", sub)
	}
	if source == "" {
		return s.store.AccountEvents(ctx, app.ID, username, clampLimit(limit))
	}
	if !validText(source, 100) {
		return nil, invalid("source: at most 100 bytes")
	}
	return s.store.AccountEventsBySource(ctx, app.ID, username, source, clampLimit(limit))
}
