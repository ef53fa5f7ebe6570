// Package api is the scheduler's REST API under /v1: conventions, rooms,
// tracks, speakers and sessions (CRUD, organizers), publication, schedule
// import (POST a frab XML or c3voc JSON file) and export (frab XML, c3voc
// JSON, iCalendar), the attendee views (by day, room, track; now & next;
// search by title or speaker), personal agendas and their private iCal feed.
//
// Every route but the feed is behind the bearer-token middleware the caller
// passes in (auth.Middleware); the tenant is the token's, so a tenant-less
// URL can never reach another tenant's data. Writes need the organizer
// role. Other roles read published conventions only: an unpublished one is
// "not found" to them. docs/openapi.yaml describes every route, and the
// package's tests check the handlers against it.
//
// Errors are JSON {"error":{"code":N,"message":"...","retryable":bool}}:
// authentication and role failures carry the auth package's codes
// (1001–1099), the scheduler's own are 1200–1299 (see Code).
//
// The private feed URL (/v1/feeds/{token}.ics) carries its own credential,
// because calendar applications cannot send headers: the token is the
// tenant, convention, user and a per-user nonce, signed with HMAC-SHA256 by
// a per-tenant secret kept in the store. Rotating the nonce revokes it.
package api
