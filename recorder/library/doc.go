// Package library is the recording library and learning-management side of
// the recorder: recordings linked to their schedule sessions, courses made
// of lessons (one course per schedule track by default, editable),
// enrolment, progress reported by the player as xAPI statements, and
// certificates with a public verification code.
//
// # Progress
//
// The player posts xAPI statements with the Video Profile's verbs
// (initialized, played, paused, seeked, completed) to POST
// /v1/xapi/statements. What counts is the played-segments extension: the
// union of every segment a learner has played, divided by the recording's
// duration as the library knows it, is their progress. Replaying a stretch
// adds nothing, seeking past the end earns nothing, and a bare "completed"
// claim is recorded but not believed. A lesson is complete at
// Config.CompletionThreshold (90% by default, overridable per course), a
// course when all its lessons are; completing an enrolled course issues a
// certificate (a PDF) with a random public code that anyone can check at
// GET /v1/certificates/{code}.
//
// # Storage
//
// Everything is tenant-scoped through internal/store, with document IDs
// prefixed by the tenant so that two tenants' IDs never collide. Statements
// are insert-only and progress is computed from them on every read, because the
// embedded store applies inserts atomically but not read-modify-write
// updates; certificates are issued by a unique insert, so exactly once even
// when two statements complete a course at the same moment. The one system
// collection, certificate_codes, maps a public code to its tenant and holds
// nothing else.
//
// # LRS
//
// When a tenant configures an external Learning Record Store, its
// statements are forwarded to it (xAPI 1.0.3 statements resource, HTTP basic
// auth) by a background worker: Run.
package library
