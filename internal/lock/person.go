package lock

import (
	"context"
	"strings"
)

// CreatePerson creates an owner.
func (s *Service) CreatePerson(ctx context.Context, name, email string) (Person, error) {
	if strings.TrimSpace(name) == "" || !validText(name, 200) || !validText(email, 320) {
		return Person{}, invalid("name: required, at most 200 bytes; email at most 320 (UTF-8, no NUL)")
	}
	p := Person{ID: newID("per", s.now()), Name: strings.TrimSpace(name), Email: email, CreatedAt: s.now()}
	return p, s.store.CreatePerson(ctx, p)
}

// Person returns one person.
func (s *Service) Person(ctx context.Context, id string) (Person, error) {
	return s.store.Person(ctx, id)
}

// Persons lists persons.
func (s *Service) Persons(ctx context.Context) ([]Person, error) { return s.store.Persons(ctx) }

// DeletePerson deletes a person; their accounts remain, without owner,
// and their tokens go with them.
func (s *Service) DeletePerson(ctx context.Context, id string) error {
	// The person's tokens are revoked at now and kept, without their
	// person: an audit trail, and a value lockgate still knows (atk14f
	// F1: a deleted person's token was taken at the next start as a new
	// bootstrap admin secret, once nothing recognised it).
	return s.store.DeletePerson(ctx, id, s.now())
}
