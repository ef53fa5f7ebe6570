package auth_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/store/storetest"
	"github.com/plenaryhq/plenary/internal/tenant"
)

func TestTenantsRegistry(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	ts := auth.NewTenants(st, auth.WithLogger(quietLog))

	a, err := ts.CreateTenant(ctx, tenantA, "Alpha Con")
	require.NoError(t, err)
	require.Equal(t, tenantA, a.ID)
	require.Equal(t, "Alpha Con", a.Name)
	require.Len(t, a.Keys, 1)
	require.Len(t, a.Keys[0].Secret, auth.SecretSize)
	require.NotEmpty(t, a.Keys[0].ID)

	_, err = ts.CreateTenant(ctx, tenantA, "Again")
	require.ErrorIs(t, err, auth.ErrTenantExists)
	_, err = ts.CreateTenant(ctx, "Bad Id", "x")
	require.ErrorIs(t, err, tenant.ErrInvalid)

	// EnsureTenant returns the existing tenant unchanged, or creates it.
	again, err := ts.EnsureTenant(ctx, tenantA, "Other name")
	require.NoError(t, err)
	require.Equal(t, "Alpha Con", again.Name)
	require.Equal(t, a.Keys[0].ID, again.Keys[0].ID)
	require.Equal(t, a.Keys[0].Secret, again.Keys[0].Secret)
	b, err := ts.EnsureTenant(ctx, tenantB, "")
	require.NoError(t, err)
	require.Equal(t, "beta", b.Name, "an empty name defaults to the id")

	_, err = ts.GetTenant(ctx, "nobody")
	require.ErrorIs(t, err, auth.ErrUnknownTenant)

	list, err := ts.ListTenants(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, tenantA, list[0].ID)
	require.Equal(t, tenantB, list[1].ID)

	// The registry survives a new instance (another process, a restart).
	got, err := auth.NewTenants(st).GetTenant(ctx, tenantA)
	require.NoError(t, err)
	require.Equal(t, a.Keys[0].Secret, got.Keys[0].Secret)
	require.WithinDuration(t, a.Created, got.Created, time.Millisecond)

	// Secrets never appear in JSON.
	raw, err := json.Marshal(got)
	require.NoError(t, err)
	require.NotContains(t, string(raw), "secret")
}

func TestEnsureTenantConcurrent(t *testing.T) {
	ctx := context.Background()
	ts := auth.NewTenants(storetest.Open(t), auth.WithLogger(quietLog))
	var wg sync.WaitGroup
	kids := make([]string, 4)
	errs := make([]error, 4)
	for i := range kids {
		wg.Go(func() {
			tn, err := ts.EnsureTenant(ctx, "demo", "Demo")
			errs[i] = err
			if err == nil {
				kids[i] = tn.Keys[0].ID
			}
		})
	}
	wg.Wait()
	for i := range kids {
		require.NoError(t, errs[i])
		require.Equal(t, kids[0], kids[i], "every caller sees the same tenant")
	}
}

func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{}
	e := newEnv(t, auth.WithClock(clock.now), auth.WithCacheTTL(10*time.Second))
	old := e.mint(t, tenantA, auth.RoleAttendee)

	// A second registry on the same store plays another process; its cache
	// is warm with the old key only.
	otherClock := &fakeClock{}
	other := auth.NewTenants(e.st, auth.WithLogger(quietLog), auth.WithClock(otherClock.now), auth.WithCacheTTL(10*time.Second))
	otherV := auth.NewVerifier(other, auth.VerifierOptions{})
	_, err := otherV.Verify(ctx, old)
	require.NoError(t, err)

	k2, err := e.tenants.RotateKey(ctx, tenantA)
	require.NoError(t, err)
	require.NotEqual(t, e.a.Keys[0].ID, k2.ID)
	fresh := e.mint(t, tenantA, auth.RoleAttendee)
	c, err := e.verifier.Verify(ctx, fresh)
	require.NoError(t, err)
	require.Equal(t, k2.ID, c.KeyID, "new tokens are signed with the new key")
	c, err = e.verifier.Verify(ctx, old)
	require.NoError(t, err, "old tokens still verify until the old key is retired")
	require.Equal(t, e.a.Keys[0].ID, c.KeyID)

	// The other process finds the new kid on a miss (once its entry is at
	// least a second old, the rate limit on re-reads).
	otherClock.advance(2 * time.Second)
	c, err = otherV.Verify(ctx, fresh)
	require.NoError(t, err)
	require.Equal(t, k2.ID, c.KeyID)

	// Retire the old key: rejected here at once, elsewhere after the TTL.
	require.NoError(t, e.tenants.RetireKey(ctx, tenantA, e.a.Keys[0].ID))
	_, err = e.verifier.Verify(ctx, old)
	require.ErrorIs(t, err, auth.ErrUnknownKey)
	_, err = e.verifier.Verify(ctx, fresh)
	require.NoError(t, err)
	_, err = otherV.Verify(ctx, old)
	require.NoError(t, err, "still cached in the other process")
	otherClock.advance(11 * time.Second)
	_, err = otherV.Verify(ctx, old)
	require.ErrorIs(t, err, auth.ErrUnknownKey)

	// The last usable key cannot be retired; unknown kids are reported.
	require.ErrorIs(t, e.tenants.RetireKey(ctx, tenantA, k2.ID), auth.ErrLastKey)
	require.ErrorIs(t, e.tenants.RetireKey(ctx, tenantA, "nope"), auth.ErrUnknownKey)
	require.ErrorIs(t, e.tenants.RetireKey(ctx, "nobody", k2.ID), auth.ErrUnknownTenant)
	// Retiring twice is a no-op.
	require.NoError(t, e.tenants.RetireKey(ctx, tenantA, e.a.Keys[0].ID))
	// Tenant B is untouched by A's rotation.
	_, err = e.verifier.Verify(ctx, e.mint(t, tenantB, auth.RoleAttendee))
	require.NoError(t, err)
}

func TestRotateKeyConcurrent(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = e.tenants.RotateKey(ctx, tenantA)
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	got, err := e.tenants.GetTenant(ctx, tenantA)
	require.NoError(t, err)
	require.Len(t, got.Keys, n+1, "no rotation is lost")
	seen := map[string]bool{}
	for _, k := range got.Keys {
		require.False(t, seen[k.ID], "duplicate kid %s", k.ID)
		seen[k.ID] = true
	}
}

// TestKeyCacheServesWithoutStore shows verification does not read the store
// per request: with the store closed, cached keys still verify, and even
// after the TTL they are used while the store is unreachable.
func TestKeyCacheServesWithoutStore(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{}
	e := newEnv(t, auth.WithClock(clock.now), auth.WithCacheTTL(5*time.Second))
	tok := e.mint(t, tenantA, auth.RoleAttendee)
	_, err := e.verifier.Verify(ctx, tok)
	require.NoError(t, err)

	require.NoError(t, e.st.Close())
	for range 100 {
		_, err = e.verifier.Verify(ctx, tok)
		require.NoError(t, err)
	}
	clock.advance(time.Minute)
	_, err = e.verifier.Verify(ctx, tok)
	require.NoError(t, err, "stale keys are used while the store is unreachable")

	// A tenant never cached cannot be checked: retryable, 503.
	_, err = e.verifier.Verify(ctx, e.mintFor(t, tenantB))
	require.ErrorIs(t, err, auth.ErrUnavailable)
	require.True(t, auth.ToClientError(err).Retryable)
	require.Equal(t, 503, auth.HTTPStatus(err))
}

// mintFor crafts a valid token of tenant id from the keys read at setup,
// without going through the (possibly closed) store.
func (e *env) mintFor(t testing.TB, id tenant.ID) string {
	t.Helper()
	tn := e.a
	if id == tenantB {
		tn = e.b
	}
	return craft(t, hs256Header(tn.Keys[0].ID), claims(id), tn.Keys[0].Secret)
}
