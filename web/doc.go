// Package web serves Plenary's browser app — attendee, moderator,
// organizer and library pages — and the few HTTP endpoints that exist only
// for it (invitation links, recording start/stop).
//
// The app's sources live in web/app (TypeScript, Preact, Vite, hls.js).
// `npm ci --prefix web/app && npm run build --prefix web/app` writes the
// built files to web/dist, which this package embeds. A fresh clone
// compiles before that build: web/dist always holds a .keep file, and
// Handler then serves a page that says to run `make web`.
//
// Routing: hashed files under /assets/ are cached forever; every app path
// (/ and /t/{tenant}/...) gets index.html, never cached, and the app's
// router picks the page. Everything else is 404, so API paths that no
// other handler serves do not turn into HTML.
//
// See docs/web.md for the pages, their routes and the tests.
package web
