package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
)

// TestCommand drives `plenary loadtest` and `plenary loadtest merge` as
// main will: two shards, then the merge.
func TestCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a gateway process")
	}
	stack := startStack(t, "chat")
	dir := t.TempDir()
	scenario := filepath.Join(dir, "s.yaml")
	require.NoError(t, os.WriteFile(scenario, []byte(`
duration: 4s
drain: 1s
groups:
  - {name: chat, kind: chat, count: 6, rooms: [main], chat: {messages_per_s: 3}}
slo: {chat_missing_pct: 0}
`), 0o644))
	env := func(stdout, stderr *bytes.Buffer) CommandEnv {
		return CommandEnv{Stdout: stdout, Stderr: stderr,
			BindStore: func(fs *flag.FlagSet) func(context.Context) (*auth.Issuer, func() error, error) {
				fs.String("data-dir", "", "store")
				return func(context.Context) (*auth.Issuer, func() error, error) {
					return stack.issuer, func() error { return nil }, nil
				}
			}}
	}
	errs := make(chan error, 2)
	for _, sh := range []string{"0/2", "1/2"} {
		go func() {
			var out, errOut bytes.Buffer
			errs <- Command(context.Background(), []string{"--target", stack.url, "--scenario", scenario, "--tenant", string(testTenant),
				"--shard", sh, "--run-id", "cli", "--report", filepath.Join(dir, sh[:1]), "--data-dir", "x", "--quiet"}, env(&out, &errOut))
		}()
	}
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)

	var out, errOut bytes.Buffer
	err := Command(context.Background(), []string{"merge", "--out", filepath.Join(dir, "all"), filepath.Join(dir, "0"), filepath.Join(dir, "1")}, env(&out, &errOut))
	require.NoError(t, err)
	require.Contains(t, out.String(), "PASS")
	require.Contains(t, out.String(), "6 bots (6 joined)")
	rep, err := ReadReport(filepath.Join(dir, "all"))
	require.NoError(t, err)
	require.Len(t, rep.Shards, 2)
}

func TestCommandUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing flags", []string{"--scenario", "x.yaml"}, "required"},
		{"bad tenant", []string{"--scenario", "x", "--target", "ws://h/v1/ws", "--tenant", "Bad Tenant"}, "--tenant"},
		{"bad shard", []string{"--scenario", "x", "--target", "ws://h/v1/ws", "--tenant", "t", "--shard", "2/2"}, "shard"},
		{"no token source", []string{"--scenario", "scenarios/smoke.yaml", "--target", "ws://h/v1/ws", "--tenant", "t"}, "--organizer-token"},
		{"merge nothing", []string{"merge"}, "report directory"},
		{"stray argument", []string{"--scenario", "x", "extra"}, "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := Command(context.Background(), tc.args, CommandEnv{Stdout: &out, Stderr: &errOut})
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.Equal(t, 2, ExitCode(err))
		})
	}
	var out, errOut bytes.Buffer
	require.ErrorIs(t, Command(context.Background(), []string{"--help"}, CommandEnv{Stdout: &out, Stderr: &errOut}), flag.ErrHelp)
	require.Contains(t, errOut.String(), "--organizer-token")
}

func TestHTTPTokens(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/tenants/acme/tokens" || r.Header.Get("Authorization") != "Bearer org" {
			http.Error(w, `{"error":{"code":1001}}`, http.StatusUnauthorized)
			return
		}
		_ = json.NewDecoder(r.Body).Decode(&got)
		_, _ = w.Write([]byte(`{"token":"jwt"}`))
	}))
	defer srv.Close()
	src := HTTPTokens(srv.URL, "acme", "org", nil)
	tok, err := src.Token(context.Background(), TokenRequest{Subject: "lt-1", Role: auth.RoleAttendee, Rooms: []string{"a"}})
	require.NoError(t, err)
	require.Equal(t, "jwt", tok)
	require.Equal(t, "attendee", got["role"])
	_, err = HTTPTokens(srv.URL, "acme", "wrong", nil).Token(context.Background(), TokenRequest{Subject: "x", Role: auth.RoleAttendee})
	require.ErrorContains(t, err, "HTTP 401")
}
