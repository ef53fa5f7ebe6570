package catalog_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/store"
	"github.com/plenaryhq/plenary/internal/store/storetest"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/scheduler/catalog"
	"github.com/plenaryhq/plenary/scheduler/internal/testfiles"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

var (
	tenantA = tenant.MustParse("alpha")
	tenantB = tenant.MustParse("beta")
	quiet   = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
)

func newCatalog(t testing.TB, st *store.Store) *catalog.Catalog {
	t.Helper()
	if st == nil {
		st = storetest.Open(t)
	}
	c, err := catalog.New(context.Background(), st, catalog.Options{}, quiet)
	require.NoError(t, err)
	return c
}

func parse(t testing.TB, name string, f schedule.Format) *schedule.Schedule {
	t.Helper()
	s, err := schedule.Limits{}.ImportBytes(testfiles.Read(t, name), f)
	require.NoError(t, err)
	return s
}

// TestImportReimportUnchanged imports a real file, reads it back intact, and
// re-imports it with nothing written.
func TestImportReimportUnchanged(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	c := newCatalog(t, st)
	s := parse(t, "fosdem-2026.xml", schedule.FormatFrabXML)

	res, err := c.Import(ctx, tenantA, "fosdem", s)
	require.NoError(t, err)
	require.True(t, res.Changed)
	require.Equal(t, catalog.Diff{Created: 883}, res.Diff)

	// A second catalog (another process) reads the same version.
	tt, err := newCatalog(t, st).Fresh(ctx, tenantA, "fosdem")
	require.NoError(t, err)
	require.Equal(t, s.Summary(), tt.Schedule().Summary())
	require.Len(t, tt.Schedule().Speakers, len(s.Speakers))
	first := tt.Schedule().Sessions[0]
	require.Equal(t, s.Sessions[0].GUID, first.GUID)
	require.True(t, s.Sessions[0].Start.Equal(first.Start))

	res, err = c.Import(ctx, tenantA, "fosdem", parse(t, "fosdem-2026.xml", schedule.FormatFrabXML))
	require.NoError(t, err)
	require.False(t, res.Changed)
	require.Equal(t, catalog.Diff{Unchanged: 883}, res.Diff)

	// Tenant isolation: beta has no such convention.
	_, err = c.Fresh(ctx, tenantB, "fosdem")
	require.ErrorIs(t, err, catalog.ErrNotFound)
}

// TestUpdateMovesSession edits one session through Update.
func TestUpdateMovesSession(t *testing.T) {
	ctx := context.Background()
	c := newCatalog(t, nil)
	s := parse(t, "pretalx-rc3.json", schedule.FormatC3VOCJSON)
	_, err := c.Import(ctx, tenantA, "rc3", s)
	require.NoError(t, err)
	guid := s.Sessions[3].GUID
	res, err := c.Update(ctx, tenantA, "rc3", func(s *schedule.Schedule) error {
		for i := range s.Sessions {
			if s.Sessions[i].GUID == guid {
				s.Sessions[i].Start = s.Sessions[i].Start.Add(time.Hour)
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, catalog.Diff{Updated: 1, Unchanged: len(s.Sessions) - 1}, res.Diff)
	tt, err := c.Fresh(ctx, tenantA, "rc3")
	require.NoError(t, err)
	got, ok := tt.Session(guid)
	require.True(t, ok)
	require.True(t, got.Start.Equal(s.Sessions[3].Start.Add(time.Hour)))

	// An invalid edit is refused and changes nothing.
	_, err = c.Update(ctx, tenantA, "rc3", func(s *schedule.Schedule) error {
		s.Sessions[0].Room = "nowhere"
		return nil
	})
	require.ErrorIs(t, err, catalog.ErrInvalid)
	require.ErrorContains(t, err, "nowhere")
}

// TestImportRollsBack makes every write step of a commit fail in turn and
// checks that the previous version stays intact and nothing is left over.
func TestImportRollsBack(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	c := newCatalog(t, st)
	small := parse(t, "pretalx-rc3.json", schedule.FormatC3VOCJSON)
	_, err := c.Import(ctx, tenantA, "con", small)
	require.NoError(t, err)
	big := parse(t, "frab-camp2019.json", schedule.FormatC3VOCJSON)
	boom := errors.New("disk on fire")
	for _, step := range []string{"rooms", "tracks", "speakers", "sessions", "flip"} {
		t.Run(step, func(t *testing.T) {
			c.SetFailWrite(func(s string) error {
				if s == step {
					return boom
				}
				return nil
			})
			_, err := c.Import(ctx, tenantA, "con", big)
			require.ErrorIs(t, err, catalog.ErrUnavailable)
			c.SetFailWrite(nil)
			tt, err := newCatalog(t, st).Fresh(ctx, tenantA, "con")
			require.NoError(t, err)
			require.Equal(t, small.Summary(), tt.Schedule().Summary(), "previous version intact")
			n, err := st.Collection("sched.sessions").Tenant(tenantA).Count(ctx, nil)
			require.NoError(t, err)
			require.EqualValues(t, len(small.Sessions), n, "staged sessions rolled back")
		})
	}
	// And the next import goes through.
	res, err := c.Import(ctx, tenantA, "con", big)
	require.NoError(t, err)
	require.Equal(t, len(big.Sessions), res.Diff.Created+res.Diff.Updated+res.Diff.Unchanged)
	n, err := st.Collection("sched.sessions").Tenant(tenantA).Count(ctx, nil)
	require.NoError(t, err)
	require.EqualValues(t, len(small.Sessions)+len(big.Sessions), n, "current and previous version kept")
}

// TestConcurrentWritersOneWins races two catalogs (two processes) on the
// same base version: the unique claim lets one commit, the other is told to
// retry, and a retry then succeeds.
func TestConcurrentWritersOneWins(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	c1, c2 := newCatalog(t, st), newCatalog(t, st)
	_, err := c1.Import(ctx, tenantA, "con", parse(t, "pretalx-rc3.json", schedule.FormatC3VOCJSON))
	require.NoError(t, err)

	rename := func(title string) func(*schedule.Schedule) error {
		return func(s *schedule.Schedule) error { s.Sessions[0].Title = title; return nil }
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, c := range []*catalog.Catalog{c1, c2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Update(ctx, tenantA, "con", rename([]string{"one", "two"}[i]))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, catalog.ErrBusy)
		}
	}
	require.GreaterOrEqual(t, ok, 1)
	_, err = c2.Update(ctx, tenantA, "con", rename("three"))
	require.NoError(t, err)
	tt, err := c1.Fresh(ctx, tenantA, "con")
	require.NoError(t, err)
	require.Equal(t, "three", tt.Schedule().Sessions[0].Title)
}

func TestPublishAndAgenda(t *testing.T) {
	ctx := context.Background()
	c := newCatalog(t, nil)
	s := parse(t, "pretalx-rc3.json", schedule.FormatC3VOCJSON)
	_, err := c.Import(ctx, tenantA, "rc3", s)
	require.NoError(t, err)

	pub, err := c.Published(ctx)
	require.NoError(t, err)
	require.Empty(t, pub)
	info, err := c.SetPublished(ctx, tenantA, "rc3", true)
	require.NoError(t, err)
	require.True(t, info.Published)
	pub, err = c.Published(ctx)
	require.NoError(t, err)
	require.Equal(t, []catalog.PublishedRef{{Tenant: tenantA, Slug: "rc3"}}, pub)

	g := s.Sessions[0].GUID
	require.NoError(t, c.Star(ctx, tenantA, "rc3", "ada", g))
	require.NoError(t, c.Star(ctx, tenantA, "rc3", "ada", g), "idempotent")
	require.NoError(t, c.Star(ctx, tenantA, "rc3", "bob", g))
	require.ErrorIs(t, c.Star(ctx, tenantA, "rc3", "ada", "no-such"), catalog.ErrNotFound)
	users, err := c.Starred(ctx, tenantA, "rc3", g)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"ada", "bob"}, users)
	require.NoError(t, c.Unstar(ctx, tenantA, "rc3", "bob", g))
	agenda, err := c.Agenda(ctx, tenantA, "rc3", "ada")
	require.NoError(t, err)
	require.Equal(t, []string{g}, agenda)

	n1, err := c.FeedNonce(ctx, tenantA, "rc3", "ada", true, false)
	require.NoError(t, err)
	n2, err := c.FeedNonce(ctx, tenantA, "rc3", "ada", true, false)
	require.NoError(t, err)
	require.Equal(t, n1, n2)
	n3, err := c.FeedNonce(ctx, tenantA, "rc3", "ada", true, true)
	require.NoError(t, err)
	require.NotEqual(t, n1, n3)
	_, err = c.FeedSecret(ctx, tenantB, false)
	require.ErrorIs(t, err, catalog.ErrNotFound)

	require.NoError(t, c.DeleteConvention(ctx, tenantA, "rc3"))
	pub, err = c.Published(ctx)
	require.NoError(t, err)
	require.Empty(t, pub)
	_, err = c.Fresh(ctx, tenantA, "rc3")
	require.ErrorIs(t, err, catalog.ErrNotFound)
}
