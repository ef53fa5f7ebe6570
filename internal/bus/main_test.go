package bus_test

import (
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/plenaryhq/plenary/internal/bus"
)

// TestMain routes go-redis's own logging (dial failures while a test server
// is down) away from the test output; failures still surface as errors.
func TestMain(m *testing.M) {
	redis.SetLogger(bus.NewRedisLogger(nil))
	os.Exit(m.Run())
}
