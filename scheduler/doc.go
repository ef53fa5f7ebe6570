// Package scheduler composes the scheduler component for cmd/plenary: the
// REST API (scheduler/api) over the tenant-scoped catalog
// (scheduler/catalog), the timed actions (scheduler/actions), and the HTTP
// client behind `plenary schedule import|export`.
//
// Wiring, in cmd/plenary:
//
//	svc, err := scheduler.New(ctx, scheduler.Config{PublicURL: cfg.BaseURL()}, scheduler.Deps{
//		Store: st, Queue: q, Bus: b, Auth: authMW, Log: log,
//	})
//	svc.Register(httpServer)          // routes under /v1 (see docs/openapi.yaml)
//	workers = append(workers, svc.Run) // leader election, planning, action jobs
//
// The pure timetable model, importers and exporters live in
// scheduler/schedule; docs/scheduler.md describes the design.
package scheduler
