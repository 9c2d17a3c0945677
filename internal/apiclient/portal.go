package apiclient

import (
	"context"
	"time"
)

// EnrolLink is a one-time link for a person to set up their portal
// sign-in, shown once.
type EnrolLink struct {
	ID        string    `json:"id"`
	PersonID  string    `json:"person_id"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CreateEnrolLink issues an enrolment link for a person.
func (c *Client) CreateEnrolLink(ctx context.Context, person string) (EnrolLink, error) {
	var out EnrolLink
	err := c.do(ctx, personObj(person), "POST", admin+"/persons/"+esc(person)+"/enrol-links", nil, &out)
	return out, err
}
