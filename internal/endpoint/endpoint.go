// Package endpoint describes the HTTP endpoints a component serves on
// lockgate's main listener, so that one table registers them all with the
// same metrics and the same authentication.
package endpoint

import "net/http"

// Access says who may call a route.
type Access uint8

// The access levels. The table, not the handler, checks them.
const (
	Public    Access = iota // anyone; the handler authenticates if it must (lock check, signed events)
	Admin                   // an admin token with full rights
	AdminRead               // an admin token, read-only rights suffice
	Owner                   // a person's token; the handler finds the person with the request's context
)

func (a Access) String() string {
	switch a {
	case Public:
		return "public"
	case Admin:
		return "admin"
	case AdminRead:
		return "admin-read"
	case Owner:
		return "owner"
	}
	return "unknown"
}

// Endpoint is a net/http pattern ("GET /api/v1/admin/gateway/config"),
// who may call it, and its handler.
type Endpoint struct {
	Pattern string
	Access  Access
	Handler http.Handler
}
