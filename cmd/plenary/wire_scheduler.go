package main

import (
	"context"
	"fmt"
	"time"

	"github.com/plenaryhq/plenary/internal/config"
	"github.com/plenaryhq/plenary/scheduler"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// wireScheduler composes the scheduler: its REST API (every process that
// serves the API) and, with the scheduler role, the timed-action planner.
func (p *platform) wireScheduler(ctx context.Context) error {
	svc, err := scheduler.New(ctx, scheduler.Config{
		PublicURL:      p.cfg.PublicURL,
		DisableActions: !p.cfg.HasRole(config.RoleScheduler),
	}, scheduler.Deps{Store: p.store, Queue: p.queue, Bus: p.bus, Auth: p.authMW, Log: p.log})
	if err != nil {
		return err
	}
	p.scheduler = svc
	svc.Register(p.http)
	p.workers = append(p.workers, svc.Run)
	return nil
}

// demoSchedule imports (or refreshes) the demo timetable and publishes it.
func (p *platform) demoSchedule(ctx context.Context) (schedule.Summary, error) {
	s, err := schedule.Limits{}.ImportBytes(demoScheduleXML(time.Now()), schedule.FormatFrabXML)
	if err != nil {
		return schedule.Summary{}, fmt.Errorf("demo schedule: %w", err)
	}
	cat := p.scheduler.Catalog()
	if _, err := cat.Import(ctx, demoTenant, demoConvention, s); err != nil {
		return schedule.Summary{}, fmt.Errorf("demo schedule import: %w", err)
	}
	if _, err := cat.SetPublished(ctx, demoTenant, demoConvention, true); err != nil {
		return schedule.Summary{}, fmt.Errorf("demo schedule publish: %w", err)
	}
	return s.Summary(), nil
}
