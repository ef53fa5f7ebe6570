// Package catalog keeps conventions and their timetables in the document
// store, one tenant at a time, and serves read-only snapshots of them.
//
// # Documents
//
// Every collection is tenant-scoped (store.Collection.Tenant):
//
//	sched.conventions  one document per convention: slug (unique per tenant),
//	                   metadata, published flag, and the id of the current
//	                   timetable version (ver) with its etag
//	sched.sessions     one document per session and version, keyed by
//	sched.rooms        (conv, ver, guid|name|key); each carries its display
//	sched.tracks       position so that a version reads back in file order
//	sched.speakers
//	sched.versions     version claims: who may write the successor of a
//	                   version (unique (conv, base, gen))
//	sched.stars        personal agendas: one document per (conv, user, guid)
//	sched.feeds        per-user nonce of the private iCal feed URL
//	sched.secrets      per-tenant HMAC secret for feed URLs
//
// and one system collection, scheduler.published, lists the published
// conventions of every tenant so that the action planner can find them
// without knowing the tenant registry.
//
// # Writes: staging version and flip
//
// The embedded store (FerretDB over SQLite) has no multi-document
// transactions and its conditional updates are not atomic (docs/decisions.md
// D1). So a timetable is never edited in place. Every change (an import, or
// one session edited through the API) is a commit:
//
//  1. read the convention and its current version V;
//  2. build the next timetable in memory and validate it completely; if it
//     equals V, stop (nothing is written: a re-import of the same file);
//  3. claim the right to succeed V by inserting the claim document
//     (conv, base=V, gen=1): a unique index makes exactly one writer win,
//     atomically on every backend;
//  4. insert the new version's documents under a fresh random version id W
//     (invisible to readers, who only read the version the convention names);
//  5. flip: set the convention's ver to W (only the claim holder writes it);
//  6. delete the version before V (readers still loading V keep it).
//
// A failure in 4 or 5 deletes what this commit inserted (rollback) and
// releases the claim; a crash leaves a claim that later writers consider
// stale after StaleClaim and take over with generation 2, deleting the
// orphaned documents. Readers therefore always see one complete version.
//
// # Reads
//
// Timetable returns an immutable *Timetable snapshot, cached per
// (tenant, slug) and revalidated against the convention's etag: within
// MaxAge the cache answers without touching the store, so the attendee views
// (now & next, by day/room/track, search) are in-memory lookups.
package catalog
