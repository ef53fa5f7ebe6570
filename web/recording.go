package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/queue"
)

// Publisher is the part of the job queue the recording endpoint uses;
// queue.Queue implements it.
type Publisher interface {
	Publish(ctx context.Context, job queue.Job) (string, error)
}

// RecorderQueue and the job kinds are the recorder's documented command
// contract (docs/recording.md, "Jobs"; recorder/capture.CommandQueue).
const (
	RecorderQueue   = "recorder.commands"
	RecorderStart   = "start"
	RecorderStop    = "stop"
	maxRecordingLen = 128
	maxTitleLen     = 300
)

// recorderCommand is the job payload, field for field the recorder's
// capture.Command (a test checks they agree).
type recorderCommand struct {
	Room      string `json:"room,omitempty"`
	Recording string `json:"recording,omitempty"`
	Session   string `json:"session,omitempty"`
	Title     string `json:"title,omitempty"`
	Track     string `json:"track,omitempty"`
}

// recordingRequest is the body of POST /v1/rooms/{room}/recording.
type recordingRequest struct {
	// Action is "start" or "stop".
	Action string `json:"action"`
	// Recording names the recording to stop (optional: the room's).
	Recording string `json:"recording"`
	// Session, Title and Track describe the schedule session (optional).
	Session string `json:"session"`
	Title   string `json:"title"`
	Track   string `json:"track"`
}

// recording serves POST /v1/rooms/{room}/recording: it queues a start or
// stop command for the recorder and answers 202 with the job ID. The
// recording's state is then visible in GET /v1/library/recordings.
type recording struct {
	queue Publisher
	log   *slog.Logger
}

// ServeHTTP implements http.Handler.
func (h *recording) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, ok := auth.ClaimsFrom(r.Context())
	if !ok {
		auth.WriteError(w, auth.ErrMissingToken)
		return
	}
	room := r.PathValue("room")
	if !validName(room) {
		writeErr(w, fmt.Errorf("%w: room %q", ErrInvalidRequest, room))
		return
	}
	// Organizers may enter every room of their tenant (docs/protocol.md).
	if c.Role != auth.RoleOrganizer {
		if err := c.CheckRoom(room); err != nil {
			writeErr(w, err)
			return
		}
	}
	var req recordingRequest
	if err := readJSON(r, &req); err != nil {
		writeErr(w, err)
		return
	}
	if req.Action != RecorderStart && req.Action != RecorderStop {
		writeErr(w, fmt.Errorf("%w: action must be start or stop", ErrInvalidRequest))
		return
	}
	if len(req.Recording) > maxRecordingLen || len(req.Session) > maxRecordingLen ||
		len(req.Title) > maxTitleLen || len(req.Track) > maxTitleLen {
		writeErr(w, fmt.Errorf("%w: field too long", ErrInvalidRequest))
		return
	}
	payload, err := json.Marshal(recorderCommand{
		Room: room, Recording: req.Recording, Session: req.Session, Title: req.Title, Track: req.Track,
	})
	if err != nil {
		writeErr(w, err)
		return
	}
	id, err := h.queue.Publish(r.Context(), queue.Job{
		Queue: RecorderQueue, Tenant: c.Tenant, Kind: req.Action, Payload: payload,
	})
	if err != nil {
		h.log.Warn("recording command not queued", "tenant", c.Tenant, "room", room, "err", err)
		writeErr(w, fmt.Errorf("%w: %w", ErrUnavailable, err))
		return
	}
	h.log.Info("recording command queued", "tenant", c.Tenant, "room", room, "action", req.Action, "by", c.Subject)
	writeJSON(w, http.StatusAccepted, map[string]string{"job": id, "action": req.Action, "room": room})
}
