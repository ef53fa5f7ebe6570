package chat

import (
	"context"
	"fmt"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// indexes creates the service's indexes once per process, on first use; a
// failure (store down) is retried by the next caller.
type indexes struct {
	mu   sync.Mutex
	done bool
}

// ensure creates every index unless that already succeeded.
func (x *indexes) ensure(ctx context.Context, s *Service) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.done {
		return nil
	}
	unique := func(keys ...string) mongo.IndexModel {
		m := plain(keys...)
		m.Options = options.Index().SetUnique(true)
		return m
	}
	specs := map[string][]mongo.IndexModel{
		collEvents:       s.arch.indexes(),
		collRooms:        {unique("room")},
		collSettings:     {unique("kind")},
		collRestrictions: {unique("kind", "room", "user"), plain("room")},
		collReactions:    {unique("room", "message", "emoji", "user")},
		collReports:      {unique("room", "message", "reporter")},
		collQuestions:    {unique("qid"), plain("room", "status")},
		collPolls:        {unique("pid"), plain("room")},
		collVotes:        {unique("kind", "target", "user")},
		collActions:      {unique("id")},
	}
	for name, models := range specs {
		// One model per call: FerretDB 1.24 crashes on a createIndexes call
		// naming two or more existing indexes (every start after the first).
		for _, m := range models {
			if err := s.st.Collection(name).EnsureIndexes(ctx, m); err != nil {
				return fmt.Errorf("%w: %w", ErrUnavailable, err)
			}
		}
	}
	x.done = true
	return nil
}

// plain is an ascending index on keys.
func plain(keys ...string) mongo.IndexModel {
	d := make(bson.D, len(keys))
	for i, k := range keys {
		d[i] = bson.E{Key: k, Value: 1}
	}
	return mongo.IndexModel{Keys: d}
}
