package packager

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// stderrTailLines is how much of ffmpeg's stderr an FFmpegError keeps.
const stderrTailLines = 20

// waitAfterCancel is how long ffmpeg gets to exit after SIGINT (it
// finalises its outputs) before it is killed.
const waitAfterCancel = 10 * time.Second

// tailBuffer keeps the last lines written to it.
type tailBuffer struct {
	mu      sync.Mutex
	lines   []string
	partial strings.Builder
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range string(p) {
		if c == '\n' || c == '\r' {
			if t.partial.Len() > 0 {
				t.lines = append(t.lines, t.partial.String())
				if len(t.lines) > stderrTailLines {
					t.lines = t.lines[len(t.lines)-stderrTailLines:]
				}
				t.partial.Reset()
			}
			continue
		}
		if t.partial.Len() < 1024 {
			t.partial.WriteRune(c)
		}
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := t.lines
	if t.partial.Len() > 0 {
		lines = append(append([]string(nil), lines...), t.partial.String())
	}
	return strings.Join(lines, "\n")
}

// runFFmpeg runs bin with args. With onProgress set, ffmpeg must have been
// given "-progress pipe:1"; each block of key=value lines ending in a
// progress= line is handed over as a map. On context cancellation ffmpeg
// gets SIGINT, then SIGKILL after waitAfterCancel.
func runFFmpeg(ctx context.Context, bin, step string, args []string, onProgress func(map[string]string)) error {
	cmd := exec.CommandContext(ctx, bin, args...) //nolint:gosec // fixed binary; arguments built by this package
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = waitAfterCancel
	tail := &tailBuffer{}
	cmd.Stderr = tail
	var stdout io.ReadCloser
	if onProgress != nil {
		var err error
		if stdout, err = cmd.StdoutPipe(); err != nil {
			return &FFmpegError{Step: step, Err: err}
		}
	}
	if err := cmd.Start(); err != nil {
		return &FFmpegError{Step: step, Err: err}
	}
	if stdout != nil {
		sc := bufio.NewScanner(stdout)
		block := map[string]string{}
		for sc.Scan() {
			k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
			if !ok {
				continue
			}
			block[k] = strings.TrimSpace(v)
			if k == "progress" {
				onProgress(block)
				block = map[string]string{}
			}
		}
		// Drain whatever is left so ffmpeg never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, stdout)
	}
	if err := cmd.Wait(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = errors.Join(ctxErr, err)
		}
		return &FFmpegError{Step: step, Err: err, Stderr: tail.String()}
	}
	return nil
}

// parseProgress turns one -progress block into a Progress.
func parseProgress(block map[string]string, total float64) Progress {
	p := Progress{Step: "encode", Total: total}
	// out_time_us is microseconds; out_time_ms is also microseconds in
	// ffmpeg 5 (a long-standing misnomer), so prefer the former.
	for _, k := range []string{"out_time_us", "out_time_ms"} {
		if v, err := strconv.ParseInt(block[k], 10, 64); err == nil && v >= 0 {
			p.Done = float64(v) / 1e6
			break
		}
	}
	if v, err := strconv.ParseFloat(strings.TrimSuffix(block["speed"], "x"), 64); err == nil {
		p.Speed = v
	}
	if v, err := strconv.Atoi(block["frame"]); err == nil {
		p.Frames = v
	}
	if block["progress"] == "end" {
		p.Done = total
	}
	return p
}
