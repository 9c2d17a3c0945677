package lock

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/lockgate/lockgate/internal/geo"
)

// GeoFence limits where an account's sign-ins may come from: a lock check
// whose userIP is placed outside the allowed countries and regions (or
// cannot be placed at all) answers locked. A person's fence applies to
// every account they own; an account's to that account; both apply when
// both are set.
type GeoFence struct {
	OwnerKind string   `json:"owner_kind"` // "person" or "account"
	OwnerID   string   `json:"owner_id"`
	Countries []string `json:"countries"` // ISO 3166-1 alpha-2
	Regions   []string `json:"regions"`   // ISO 3166-2
	// Message is answered to a fenced-out check; the application's locked
	// message when empty.
	Message   string    `json:"message,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

// GeoFenceInput sets a fence.
type GeoFenceInput struct {
	Countries []string `json:"countries"`
	Regions   []string `json:"regions"`
	Message   string   `json:"message"`
}

// The owners of fences.
const (
	FenceOwnerPerson  = "person"
	FenceOwnerAccount = "account"
)

// GeoFenceStore keeps fences and the countries each person signed in
// from. The store implements it beside Store.
type GeoFenceStore interface {
	// GeoFences returns the fences of an account and of its person
	// ("" for none), in one read.
	GeoFences(ctx context.Context, accountID, personID string) ([]GeoFence, error)
	GeoFence(ctx context.Context, kind, id string) (GeoFence, error)
	PutGeoFence(ctx context.Context, f GeoFence) error
	DeleteGeoFence(ctx context.Context, kind, id string) error
	// NoteCountry records that personID signed in from country; isNew is
	// true when it was not known before, hadOthers when other countries
	// were.
	NoteCountry(ctx context.Context, personID, country string, at time.Time) (isNew, hadOthers bool, err error)
}

// geoState is the service's geography: the database and the countries
// already noted by this process (so that a known country costs no write).
type geoState struct {
	db     geo.Locator
	fences GeoFenceStore
	mu     sync.Mutex
	seen   map[[2]string]struct{} // {person, country}
}

const maxSeenCountries = 100_000

func (g *geoState) known(person, country string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.seen[[2]string{person, country}]
	return ok
}

func (g *geoState) remember(person, country string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.seen) >= maxSeenCountries {
		clear(g.seen)
	}
	g.seen[[2]string{person, country}] = struct{}{}
}

// fenceCheck is what geography decided about one attempt.
type fenceCheck struct {
	fence    *GeoFence // the fence that locked it, nil when none did
	reason   string
	location geo.Location
	events   []Event
}

// checkGeo places an attempt, applies the fences of its account and
// person, and notes a new country for the person. A fence fails closed:
// an address that cannot be read or placed is outside it.
func (s *Service) checkGeo(ctx context.Context, app Application, acc Account, at *Attempt, now time.Time) (fenceCheck, error) {
	var fc fenceCheck
	g := s.geo
	if g == nil || g.db == nil {
		return fc, nil
	}
	ip, ipErr := netip.ParseAddr(at.UserIP)
	var lookupErr error
	if ipErr == nil {
		fc.location, lookupErr = g.db.Lookup(ip.Unmap())
	}
	if g.fences == nil || acc.ID == "" {
		return fc, nil
	}
	fences, err := g.fences.GeoFences(ctx, acc.ID, acc.PersonID)
	if err != nil {
		return fc, err
	}
	fc.fence, fc.reason = outside(fences, ipErr, lookupErr, fc.location)
	if acc.PersonID != "" && fc.location.Country != "" && !g.known(acc.PersonID, fc.location.Country) {
		isNew, hadOthers, err := g.fences.NoteCountry(ctx, acc.PersonID, fc.location.Country, now)
		if err != nil {
			return fc, err
		}
		g.remember(acc.PersonID, fc.location.Country)
		// The first country a person is seen in is not news; a later one
		// is.
		if isNew && hadOthers {
			fc.events, err = s.events(ctx, "attempt.new_country", now, map[string]any{
				"application": map[string]string{"id": app.ID, "name": app.Name},
				"person_id":   acc.PersonID,
				"country":     fc.location.Country,
				"region":      fc.location.Region,
				// A copy: the pointer would move the caller's attempt to
				// the heap on every check, fenced or not.
				"attempt": *at,
			}, app.ID, acc.PersonID)
			if err != nil {
				return fc, err
			}
		}
	}
	return fc, nil
}

// outside returns the first fence that keeps out an address placed at
// loc (ipErr: it was not an address; lookupErr: it could not be placed),
// and why; nil when none does. A fence fails closed.
func outside(fences []GeoFence, ipErr, lookupErr error, loc geo.Location) (*GeoFence, string) {
	for i := range fences {
		f := &fences[i]
		switch {
		case ipErr != nil:
			return f, "userIP is not an IP address"
		case lookupErr != nil:
			return f, "the geolocation database could not place userIP: " + lookupErr.Error()
		case loc.Country == "":
			return f, "userIP is in no known country"
		case !slices.Contains(f.Countries, loc.Country) && (loc.Region == "" || !slices.Contains(f.Regions, loc.Region)):
			return f, "userIP is in " + place(loc) + ", outside the " + f.OwnerKind + "'s allowed countries and regions"
		}
	}
	return nil, ""
}

// Fenced reports whether the geo-fences of acc and of its person keep
// out a request from ip, as a lock check with that userIP would answer,
// and the message to answer (the fence's; "" for the application's).
// Nothing is recorded and no country is noted: this serves
// authorizations (the gateway's lock check), not sign-ins.
func (s *Service) Fenced(ctx context.Context, acc Account, ip netip.Addr) (fenced bool, message, reason string, err error) {
	g := s.geo
	if g == nil || g.db == nil || g.fences == nil || acc.ID == "" {
		return false, "", "", nil
	}
	fences, err := g.fences.GeoFences(ctx, acc.ID, acc.PersonID)
	if err != nil || len(fences) == 0 {
		return false, "", "", err
	}
	var ipErr, lookupErr error
	var loc geo.Location
	if !ip.IsValid() {
		ipErr = errors.New("no address")
	} else {
		loc, lookupErr = g.db.Lookup(ip.Unmap())
	}
	f, why := outside(fences, ipErr, lookupErr, loc)
	if f == nil {
		return false, "", "", nil
	}
	return true, f.Message, why, nil
}

func place(l geo.Location) string {
	if l.Region != "" {
		return l.Country + " (" + l.Region + ")"
	}
	return l.Country
}

// GeoFence returns the fence of a person or an account.
func (s *Service) GeoFence(ctx context.Context, kind, id string) (GeoFence, error) {
	if err := s.fenceOwner(ctx, kind, id); err != nil {
		return GeoFence{}, err
	}
	return s.geo.fences.GeoFence(ctx, kind, id)
}

// SetGeoFence sets (replaces) the fence of a person or an account.
func (s *Service) SetGeoFence(ctx context.Context, kind, id string, in GeoFenceInput, who Actor) (GeoFence, error) {
	if err := s.fenceOwner(ctx, kind, id); err != nil {
		return GeoFence{}, err
	}
	countries, bad, p := geo.NormalizeCodes(in.Countries, geo.CountryProblem)
	if p != "" {
		return GeoFence{}, invalid("countries[%d]: %q %s", bad, in.Countries[bad], p)
	}
	regions, bad, p := geo.NormalizeCodes(in.Regions, geo.RegionProblem)
	if p != "" {
		return GeoFence{}, invalid("regions[%d]: %q %s", bad, in.Regions[bad], p)
	}
	if len(countries) == 0 && len(regions) == 0 {
		return GeoFence{}, invalid("countries or regions: at least one (to remove the fence, delete it)")
	}
	if len(countries)+len(regions) > 300 {
		return GeoFence{}, invalid("countries and regions: at most 300 together")
	}
	if !validText(in.Message, 255) {
		return GeoFence{}, invalid("message: at most 255 bytes of UTF-8 without NUL")
	}
	f := GeoFence{OwnerKind: kind, OwnerID: id, Countries: countries, Regions: regions, Message: in.Message, UpdatedAt: s.now(), UpdatedBy: who.Name}
	if f.Countries == nil {
		f.Countries = []string{}
	}
	if f.Regions == nil {
		f.Regions = []string{}
	}
	return f, s.geo.fences.PutGeoFence(ctx, f)
}

// DeleteGeoFence removes the fence of a person or an account.
func (s *Service) DeleteGeoFence(ctx context.Context, kind, id string) error {
	if err := s.fenceOwner(ctx, kind, id); err != nil {
		return err
	}
	return s.geo.fences.DeleteGeoFence(ctx, kind, id)
}

// fenceOwner checks that fences are stored and the owner exists.
func (s *Service) fenceOwner(ctx context.Context, kind, id string) error {
	if s.geo == nil || s.geo.fences == nil {
		return errors.New("lock: this store keeps no geo-fences")
	}
	switch kind {
	case FenceOwnerPerson:
		_, err := s.store.Person(ctx, id)
		return err
	case FenceOwnerAccount:
		_, err := s.store.AccountByID(ctx, id)
		return err
	}
	return invalid("a fence belongs to a person or an account, not %q", kind)
}

// lockedData adds why to an attempt.locked event's data when a fence
// locked it.
func (fc fenceCheck) lockedData(data map[string]any) map[string]any {
	if fc.fence != nil {
		data["reason"] = "geo-fence: " + fc.reason
	}
	return data
}

// recordFenced keeps why a check was fenced out in the account's history
// (beside what integrations report), for the owner and the admins, and
// returns the message to answer: the fence's, else msg. The answer is
// already decided: a failure to record is logged, not returned.
func (s *Service) recordFenced(ctx context.Context, app Application, at Attempt, fc fenceCheck, msg string) string {
	if fc.fence.Message != "" {
		msg = fc.fence.Message
	}
	detail, _ := json.Marshal(map[string]any{
		"attempt_id": at.ID, "user_ip": at.UserIP, "country": fc.location.Country, "region": fc.location.Region,
		"fence": fc.fence.OwnerKind, "allowed_countries": fc.fence.Countries, "allowed_regions": fc.fence.Regions, "reason": fc.reason,
	})
	e := AccountEvent{ID: newID("aev", at.At), At: at.At, AppID: app.ID, Username: at.Username, Source: "geo-fence", Detail: detail}
	if err := s.store.AddAccountEvent(ctx, e); err != nil {
		s.log.Error("lock: recording a geo-fenced attempt", "attempt", at.ID, "error", err)
	}
	return msg
}
