package store_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/plenaryhq/plenary/internal/store"
	"github.com/plenaryhq/plenary/internal/store/storetest"
	"github.com/plenaryhq/plenary/internal/tenant"
)

type room struct {
	ID     string `bson:"_id"`
	Tenant string `bson:"tenant,omitempty"`
	Name   string `bson:"name"`
	Seats  int    `bson:"seats"`
}

var (
	tenantA = tenant.MustParse("alpha")
	tenantB = tenant.MustParse("beta")
)

func TestTenantIsolation(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	rooms := s.Collection("rooms")
	require.NoError(t, rooms.EnsureIndexes(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "name", Value: 1}},
		Options: options.Index().SetUnique(true),
	}))
	a, b := rooms.Tenant(tenantA), rooms.Tenant(tenantB)

	require.NoError(t, a.InsertOne(ctx, room{ID: "a1", Name: "main", Seats: 10}))
	// A document that claims another tenant is stored under the scope's tenant.
	require.NoError(t, b.InsertOne(ctx, room{ID: "b1", Tenant: "alpha", Name: "main", Seats: 20}))
	// The unique index is per tenant: the same name in A again is a duplicate.
	err := a.InsertOne(ctx, room{ID: "a2", Name: "main"})
	require.True(t, store.IsDuplicate(err), "err = %v", err)
	require.ErrorIs(t, err, store.ErrDuplicate)

	var got []room
	require.NoError(t, a.Find(ctx, nil, &got))
	require.Len(t, got, 1)
	require.Equal(t, "alpha", got[0].Tenant)

	// A filter that names tenant B explicitly still reads only A.
	require.NoError(t, a.Find(ctx, bson.M{"tenant": "beta"}, &got))
	require.Len(t, got, 1)
	require.Equal(t, "a1", got[0].ID)

	var r room
	err = a.FindOne(ctx, bson.M{"_id": "b1"}, &r)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.True(t, store.IsNotFound(err))

	n, err := b.Count(ctx, nil)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	require.NoError(t, b.FindOne(ctx, bson.M{"_id": "b1"}, &r))
	require.Equal(t, "beta", r.Tenant)

	// Updates and deletes through A do not touch B.
	m, err := a.UpdateMany(ctx, nil, bson.M{"$inc": bson.M{"seats": 1}})
	require.NoError(t, err)
	require.EqualValues(t, 1, m)
	ok, err := a.DeleteOne(ctx, bson.M{"_id": "b1"})
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, b.FindOne(ctx, bson.M{"_id": "b1"}, &r))
	require.Equal(t, 20, r.Seats)

	// An update may not move a document to another tenant.
	_, err = a.UpdateOne(ctx, bson.M{"_id": "a1"}, bson.M{"$set": bson.M{"tenant": "beta"}}, false)
	require.ErrorIs(t, err, store.ErrNoTenant)

	// Upsert stamps the tenant from the scope.
	ok, err = b.UpdateOne(ctx, bson.M{"_id": "b2"}, bson.M{"$set": bson.M{"name": "side", "seats": 5}}, true)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, b.FindOne(ctx, bson.M{"_id": "b2"}, &r))
	require.Equal(t, "beta", r.Tenant)

	// Aggregations see one tenant only.
	var sums []struct {
		Total int `bson:"total"`
	}
	require.NoError(t, b.Aggregate(ctx, []bson.D{{{Key: "$group", Value: bson.M{"_id": nil, "total": bson.M{"$sum": "$seats"}}}}}, &sums))
	require.Len(t, sums, 1)
	require.Equal(t, 25, sums[0].Total)
}

func TestZeroTenantRejected(t *testing.T) {
	s := storetest.Open(t)
	var r room
	err := s.Collection("rooms").Tenant("").FindOne(context.Background(), nil, &r)
	require.ErrorIs(t, err, store.ErrNoTenant)
	err = s.Collection("rooms").Tenant("Not Valid").InsertOne(context.Background(), room{ID: "x"})
	require.ErrorIs(t, err, store.ErrNoTenant)
}

func TestDataSurvivesRestart(t *testing.T) {
	if storetest.ExternalURI() != "" {
		t.Skip("restart test is about the embedded server's data directory")
	}
	ctx := context.Background()
	dir := t.TempDir()
	cfg := store.Config{DataDir: dir, Database: "restart"}
	s, err := store.Open(ctx, cfg, slog.Default())
	require.NoError(t, err)
	require.True(t, s.Embedded())
	idx := []mongo.IndexModel{
		{Keys: bson.D{{Key: "text", Value: 1}}},
		{Keys: bson.D{{Key: "at", Value: -1}}, Options: options.Index().SetUnique(true)},
	}
	require.NoError(t, s.Collection("notes").EnsureIndexes(ctx, idx...))
	require.NoError(t, s.Collection("notes").Tenant(tenantA).InsertOne(ctx, bson.M{"_id": "n1", "text": "kept"}))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")

	s, err = store.Open(ctx, cfg, slog.Default())
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Collection("notes").EnsureIndexes(ctx, idx...), "re-creating several indexes after a restart")
	var doc struct {
		Text string `bson:"text"`
	}
	require.NoError(t, s.Collection("notes").Tenant(tenantA).FindOne(ctx, bson.M{"_id": "n1"}, &doc))
	require.Equal(t, "kept", doc.Text)
}

func TestEmbeddedServesOtherProcesses(t *testing.T) {
	if storetest.ExternalURI() != "" {
		t.Skip("about the embedded server")
	}
	ctx := context.Background()
	s := storetest.Open(t)
	// A second client (as a second process would) connects with the URI.
	other, err := store.Open(ctx, store.Config{URI: s.URI(), Database: dbName(t, s)}, slog.Default())
	require.NoError(t, err)
	defer other.Close()
	require.False(t, other.Embedded())
	require.NoError(t, s.Collection("c").Tenant(tenantA).InsertOne(ctx, bson.M{"_id": "x"}))
	n, err := other.Collection("c").Tenant(tenantA).Count(ctx, nil)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
}

func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := store.Open(ctx, store.Config{URI: "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500"}, slog.Default())
	require.Error(t, err)
	require.True(t, errors.Is(err, store.ErrUnavailable), "err = %v", err)
}

func dbName(t *testing.T, s *store.Store) string {
	t.Helper()
	return s.DatabaseName()
}
