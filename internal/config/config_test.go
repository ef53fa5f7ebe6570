package config

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func load(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return Load(fs, args, func(k string) string { return env[k] })
}

func TestDefaultsAreValid(t *testing.T) {
	cfg, err := load(t, nil, nil)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8080", cfg.Listen)
	require.Equal(t, "http://127.0.0.1:8080", cfg.BaseURL())
	for _, r := range AllRoles {
		require.True(t, cfg.HasRole(r), "no --roles means every role, %s missing", r)
	}
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plenary.yaml")
	require.NoError(t, os.WriteFile(file, []byte("listen: 127.0.0.1:9000\nlog_level: debug\nroles: [sfu, web]\ndrain_timeout: 5s\nprefix: fromfile\n"), 0o600))
	env := map[string]string{"PLENARY_CONFIG": file, "PLENARY_LOG_LEVEL": "warn", "PLENARY_PREFIX": "fromenv"}

	cfg, err := load(t, []string{"--prefix", "fromflag"}, env)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9000", cfg.Listen, "file over default")
	require.Equal(t, "warn", cfg.LogLevel, "env over file")
	require.Equal(t, "fromflag", cfg.Prefix, "flag over env")
	require.Equal(t, 5*time.Second, cfg.DrainTimeout)
	require.True(t, cfg.HasRole(RoleSFU))
	require.False(t, cfg.HasRole(RoleChat))

	cfg, err = load(t, []string{"--config=" + file, "--roles=chat"}, nil)
	require.NoError(t, err)
	require.Equal(t, List{"chat"}, cfg.Roles)
}

func TestUnknownYAMLKeyRejected(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(file, []byte("listne: 127.0.0.1:1\n"), 0o600))
	_, err := load(t, []string{"--config", file}, nil)
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "listne")
}

func TestValidateSaysWhatToChange(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--roles", "sfu,bogus"}, `unknown role "bogus"`},
		{[]string{"--listen", "nonsense"}, "--listen"},
		{[]string{"--redis-url", "http://x"}, "--redis-url"},
		{[]string{"--amqp-url", "redis://x"}, "--amqp-url"},
		{[]string{"--amqp-queue-type", "stream"}, "--amqp-queue-type"},
		{[]string{"--amqp-queue-type", ""}, "--amqp-queue-type"},
		{[]string{"--mongo-uri", "postgres://x"}, "--mongo-uri"},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"--drain-timeout", "0s"}, "--drain-timeout"},
		{[]string{"--public-url", "example"}, "--public-url"},
		{[]string{"--prefix", "a b"}, "--prefix"},
		{[]string{"--prefix", "Upper"}, "--prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := load(t, tt.args, nil)
			require.True(t, errors.Is(err, ErrInvalid), "err = %v", err)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestBadEnvValue(t *testing.T) {
	_, err := load(t, nil, map[string]string{"PLENARY_DRAIN_TIMEOUT": "soon"})
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "PLENARY_DRAIN_TIMEOUT")
}

func TestAMQPQueueType(t *testing.T) {
	cfg, err := load(t, nil, nil)
	require.NoError(t, err)
	require.Equal(t, "classic", cfg.AMQPQueueType, "default")

	cfg, err = load(t, nil, map[string]string{"PLENARY_AMQP_QUEUE_TYPE": "quorum"})
	require.NoError(t, err)
	require.Equal(t, "quorum", cfg.AMQPQueueType, "env")

	file := filepath.Join(t.TempDir(), "q.yaml")
	require.NoError(t, os.WriteFile(file, []byte("amqp_queue_type: quorum\n"), 0o600))
	cfg, err = load(t, []string{"--config", file}, nil)
	require.NoError(t, err)
	require.Equal(t, "quorum", cfg.AMQPQueueType, "YAML")

	cfg, err = load(t, []string{"--amqp-queue-type=classic"}, map[string]string{"PLENARY_AMQP_QUEUE_TYPE": "quorum"})
	require.NoError(t, err)
	require.Equal(t, "classic", cfg.AMQPQueueType, "flag over env")

	_, err = load(t, nil, map[string]string{"PLENARY_AMQP_QUEUE_TYPE": "Quorum"})
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "--amqp-queue-type")
}
