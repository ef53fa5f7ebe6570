package chat_test

import (
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/plenaryhq/plenary/internal/bus"
)

// TestMain keeps go-redis's own logging (dial failures while a private test
// server is down) out of the test output; failures surface as errors.
func TestMain(m *testing.M) {
	redis.SetLogger(bus.NewRedisLogger(nil))
	os.Exit(m.Run())
}
