-- Geo-fences: the countries (and ISO 3166-2 regions) a person's or an
-- account's sign-ins may come from; and the countries each person has
-- signed in from, for attempt.new_country events.
CREATE TABLE geofences (
    owner_kind TEXT NOT NULL,
    owner_id   TEXT NOT NULL,
    countries  TEXT NOT NULL,
    regions    TEXT NOT NULL,
    message    TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (owner_kind, owner_id)
);
CREATE TABLE person_countries (
    person_id  TEXT NOT NULL,
    country    TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    PRIMARY KEY (person_id, country)
);
