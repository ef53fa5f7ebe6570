package loadtest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/loadtest/internal/teststack"
	"github.com/plenaryhq/plenary/signaling"
)

// Environment of the stack child process (see startStack).
const (
	envStack       = "LOADTEST_TEST_STACK" // "chat" or "media"
	envStackSecret = "LOADTEST_TEST_SECRET"
	envStackDir    = "LOADTEST_TEST_DIR"
	envStackLog    = "LOADTEST_TEST_LOG" // set: the stack logs to stderr
)

// testTenant is the tenant of the test stacks.
var testTenant = tenant.MustParse("loadtest")

// TestMain doubles as the stack server: started with LOADTEST_TEST_STACK
// set, the test binary runs a gateway (and SFU) instead of the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv(envStack); mode != "" {
		os.Exit(serveStack(mode))
	}
	os.Exit(m.Run())
}

// serveStack runs a teststack until its stdin closes, printing its URL.
func serveStack(mode string) int {
	secret, err := hex.DecodeString(os.Getenv(envStackSecret))
	if err != nil {
		fmt.Fprintln(os.Stderr, "stack: bad secret:", err)
		return 2
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv(envStackLog) != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := teststack.Start(ctx, teststack.Config{Tenant: testTenant, Secret: secret, DataDir: os.Getenv(envStackDir),
		Media: mode == "media", Log: log, Gateway: signaling.Config{ResumeGrace: 20 * time.Second}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "stack:", err)
		return 1
	}
	fmt.Println("URL", st.URL)
	_, _ = io.Copy(io.Discard, os.Stdin) // until the test closes stdin or dies
	_ = st.Close()
	return 0
}

// stackProc is a stack running in a child process.
type stackProc struct {
	url    string
	issuer *auth.Issuer
	tokens TokenSource
	cmd    *exec.Cmd
	stdin  io.Closer
	done   chan struct{}
}

// startStack starts a stack child process (mode "chat" or "media") and
// returns when its gateway listens; it is stopped at cleanup.
func startStack(t testing.TB, mode string) *stackProc {
	t.Helper()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envStack+"="+mode, envStackSecret+"="+hex.EncodeToString(secret), envStackDir+"="+t.TempDir())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &stackProc{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.stop)
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "URL "); ok {
				urlc <- u
			}
		}
	}()
	select {
	case p.url = <-urlc:
	case <-p.done:
		t.Fatal("the stack process exited before listening")
	case <-time.After(90 * time.Second):
		t.Fatal("the stack process did not start")
	}
	keys := StaticKeys{testTenant: {ID: "k1", Secret: secret, Created: time.Now()}}
	p.issuer = auth.NewIssuer(keys, auth.IssuerOptions{})
	p.tokens = IssuerTokens(p.issuer, testTenant)
	return p
}

// stop ends the stack gracefully (stdin closed), killing it if it hangs.
func (p *stackProc) stop() {
	_ = p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.kill()
	}
}

// kill kills the stack process, as a crashed server.
func (p *stackProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}
