package lockclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrUnauthorized is the lock service refusing the client's token (401):
// the API URI is not one of its public URLs, the issuer not one of the
// application's, or the key not the application's.
var ErrUnauthorized = errors.New("lockclient: the lock service refused the token (401)")

// Event is something an integration reported about an account.
type Event struct {
	ID     string          `json:"id"`
	At     time.Time       `json:"at"`
	Source string          `json:"source"`
	Detail json.RawMessage `json:"detail"`
}

// reportURL is where Report posts and Events reads.
func (c *Client) reportURL() string { return strings.TrimSuffix(c.cfg.APIURI, "/") + ReportPath }

// Events reads what integrations reported about username, newest first:
// those of source when it is set, at most limit (the service's bound
// when zero).
func (c *Client) Events(ctx context.Context, username, source string, limit int) ([]Event, error) {
	token, err := c.Token(username)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if source != "" {
		q.Set("source", source)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	u := c.reportURL()
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("x-nl3-authorization-token", token)
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("lockclient: events: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("lockclient: events: reading answer: %w", err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized:
		return nil, fmt.Errorf("%w: GET %s", ErrUnauthorized, c.reportURL())
	default:
		return nil, fmt.Errorf("lockclient: events: %s answered %d", c.reportURL(), resp.StatusCode)
	}
	var ans struct {
		Events []Event `json:"events"`
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return nil, fmt.Errorf("lockclient: events: answer is not JSON: %w", err)
	}
	return ans.Events, nil
}
