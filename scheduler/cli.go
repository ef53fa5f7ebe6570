package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/plenaryhq/plenary/scheduler/api"
)

// APIError is an error answer of a running server, as the CLI reports it.
type APIError struct {
	// Status is the HTTP status.
	Status int
	// Body is the body's error object (code, message, retryable).
	Body api.Error
}

// Error formats the error for a terminal.
func (e *APIError) Error() string {
	if e.Body.Message == "" {
		return fmt.Sprintf("server answered %d", e.Status)
	}
	return fmt.Sprintf("server answered %d: %s (code %d)", e.Status, e.Body.Message, e.Body.Code)
}

// ImportCLI uploads a schedule file to a running server (POST
// {baseURL}/v1/conventions/{slug}/schedule) with an organizer token and
// returns the import summary. format is "" (detect), "frab-xml" or
// "c3voc-json". It is what `plenary schedule import` runs.
func ImportCLI(ctx context.Context, baseURL, token, slug string, file io.Reader, format string) (Summary, error) {
	u, err := endpoint(baseURL, slug, "schedule")
	if err != nil {
		return Summary{}, err
	}
	if format != "" {
		u += "?format=" + url.QueryEscape(format)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, file)
	if err != nil {
		return Summary{}, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := send(req, token)
	if err != nil {
		return Summary{}, err
	}
	defer resp.Body.Close()
	var sum Summary
	if err := json.NewDecoder(resp.Body).Decode(&sum); err != nil {
		return Summary{}, fmt.Errorf("decode import summary: %w", err)
	}
	return sum, nil
}

// ExportCLI downloads a convention's timetable from a running server in
// format "xml" (frab), "json" (c3voc) or "ics" (iCalendar) and copies it to
// w. It is what `plenary schedule export` runs.
func ExportCLI(ctx context.Context, baseURL, token, slug, format string, w io.Writer) error {
	switch format {
	case "xml", "json", "ics":
	default:
		return fmt.Errorf("%w: export format %q (want xml, json or ics)", ErrInvalidConfig, format)
	}
	u, err := endpoint(baseURL, slug, "schedule."+format)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := send(req, token)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

// endpoint builds {baseURL}/v1/conventions/{slug}/{tail}.
func endpoint(baseURL, slug, tail string) (string, error) {
	b, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || b.Scheme == "" || b.Host == "" {
		return "", fmt.Errorf("%w: server URL %q (want http://host:port)", ErrInvalidConfig, baseURL)
	}
	if slug == "" {
		return "", fmt.Errorf("%w: empty convention slug", ErrInvalidConfig)
	}
	return b.String() + "/v1/conventions/" + url.PathEscape(slug) + "/" + tail, nil
}

// send performs req with the bearer token and turns error answers into
// *APIError.
func send(req *http.Request, token string) (*http.Response, error) {
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	ae := &APIError{Status: resp.StatusCode}
	var body struct {
		Error api.Error `json:"error"`
	}
	if json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body) == nil {
		ae.Body = body.Error
	}
	return nil, ae
}
