package store

import (
	"context"
	"strings"
	"time"

	"github.com/lockgate/lockgate/internal/lock"
)

var _ lock.GeoFenceStore = (*Store)(nil)

const fenceCols = `owner_kind, owner_id, countries, regions, message, updated_at, updated_by`

func scanFence(r scanner) (lock.GeoFence, error) {
	var f lock.GeoFence
	var countries, regions string
	var at int64
	err := r.Scan(&f.OwnerKind, &f.OwnerID, &countries, &regions, &f.Message, &at, &f.UpdatedBy)
	f.Countries, f.Regions, f.UpdatedAt = splitCodes(countries), splitCodes(regions), fromMicros(at)
	return f, err
}

// Codes are stored comma-separated: ISO codes hold no commas.
func splitCodes(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// GeoFences implements lock.GeoFenceStore.
func (s *Store) GeoFences(ctx context.Context, accountID, personID string) ([]lock.GeoFence, error) {
	fs, err := queryAll(ctx, s.db, scanFence, `SELECT `+fenceCols+` FROM geofences
		WHERE (owner_kind = 'account' AND owner_id = $1) OR (owner_kind = 'person' AND owner_id = $2) ORDER BY owner_kind`, accountID, personID)
	return fs, s.wrap(err)
}

// GeoFence implements lock.GeoFenceStore.
func (s *Store) GeoFence(ctx context.Context, kind, id string) (lock.GeoFence, error) {
	f, err := scanFence(s.db.QueryRowContext(ctx, `SELECT `+fenceCols+` FROM geofences WHERE owner_kind = $1 AND owner_id = $2`, kind, id))
	return f, s.wrap(err)
}

// PutGeoFence implements lock.GeoFenceStore.
func (s *Store) PutGeoFence(ctx context.Context, f lock.GeoFence) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO geofences (`+fenceCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (owner_kind, owner_id) DO UPDATE SET countries = excluded.countries, regions = excluded.regions,
		message = excluded.message, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		f.OwnerKind, f.OwnerID, strings.Join(f.Countries, ","), strings.Join(f.Regions, ","), f.Message, micros(f.UpdatedAt), f.UpdatedBy)
	return s.wrap(err)
}

// DeleteGeoFence implements lock.GeoFenceStore.
func (s *Store) DeleteGeoFence(ctx context.Context, kind, id string) error {
	return s.wrap(mustAffect(s.db.ExecContext(ctx, `DELETE FROM geofences WHERE owner_kind = $1 AND owner_id = $2`, kind, id)))
}

// NoteCountry implements lock.GeoFenceStore. Of concurrent checks from
// a new country only the one whose insert lands sees isNew.
func (s *Store) NoteCountry(ctx context.Context, personID, country string, at time.Time) (isNew, hadOthers bool, err error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO person_countries (person_id, country, first_seen) VALUES ($1, $2, $3)
		ON CONFLICT (person_id, country) DO NOTHING`, personID, country, micros(at))
	if err != nil {
		return false, false, s.wrap(err)
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return false, false, s.wrap(err)
	}
	var others int
	err = s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM person_countries WHERE person_id = $1 AND country <> $2`, personID, country).Scan(&others)
	return true, others > 0, s.wrap(err)
}
