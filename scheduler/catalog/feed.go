package catalog

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// feedSecretName names the tenant secret that signs feed URLs.
const feedSecretName = "feed-url"

// FeedSecretSize is the length of a tenant's feed-signing secret (256 bits).
const FeedSecretSize = 32

// FeedSecret returns the tenant's secret for signing private feed URLs,
// creating it on first use. Creation races are settled by a unique insert:
// every process ends up with the one secret that was stored first. With
// create false, a tenant without a secret gets ErrNotFound (verifying a URL
// must not create secrets for arbitrary tenants named in it).
func (c *Catalog) FeedSecret(ctx context.Context, t tenant.ID, create bool) ([]byte, error) {
	c.secretsMu.Lock()
	s, ok := c.secretMap[t]
	c.secretsMu.Unlock()
	if ok {
		return s, nil
	}
	coll := c.secrets.Tenant(t)
	var d secretDoc
	err := wrapStore("read feed secret", coll.FindOne(ctx, bson.D{{Key: "name", Value: feedSecretName}}, &d))
	if isNotFound(err) && create {
		secret := make([]byte, FeedSecretSize)
		_, _ = rand.Read(secret)
		err = wrapStore("create feed secret", coll.InsertOne(ctx, secretDoc{Name: feedSecretName, Secret: secret}))
		if errors.Is(err, ErrExists) || err == nil {
			err = wrapStore("read feed secret", coll.FindOne(ctx, bson.D{{Key: "name", Value: feedSecretName}}, &d))
		}
	}
	if err != nil {
		return nil, err
	}
	if len(d.Secret) != FeedSecretSize {
		return nil, fmt.Errorf("%w: feed secret of tenant %s has %d bytes", ErrUnavailable, t, len(d.Secret))
	}
	c.secretsMu.Lock()
	c.secretMap[t] = d.Secret
	c.secretsMu.Unlock()
	return d.Secret, nil
}

// FeedNonce returns the nonce of an attendee's private feed URL, creating it
// on first use; rotate replaces it, revoking every URL issued before. With
// create false, a missing nonce is ErrNotFound.
func (c *Catalog) FeedNonce(ctx context.Context, t tenant.ID, slug, user string, create, rotate bool) (string, error) {
	coll := c.feeds.Tenant(t)
	f := bson.D{{Key: "conv", Value: slug}, {Key: "user", Value: user}}
	if rotate {
		if _, err := coll.DeleteOne(ctx, f); err != nil {
			return "", wrapStore("rotate feed", err)
		}
	}
	var d feedDoc
	err := wrapStore("read feed", coll.FindOne(ctx, f, &d))
	if isNotFound(err) && create {
		err = wrapStore("create feed", coll.InsertOne(ctx, feedDoc{Conv: slug, User: user, Nonce: randomHex(16)}))
		if errors.Is(err, ErrExists) || err == nil {
			err = wrapStore("read feed", coll.FindOne(ctx, f, &d))
		}
	}
	if err != nil {
		return "", err
	}
	return d.Nonce, nil
}
