package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// demoTenant is the tenant `serve --demo` creates.
var demoTenant = tenant.MustParse("demo")

// demoStage is the room the printed links open.
const demoStage = "main-stage"

// demo creates the demo tenant (idempotently) and prints one link per role.
func (p *platform) demo(ctx context.Context, stdout io.Writer) error {
	if _, err := p.tenants.EnsureTenant(ctx, demoTenant, "Plenary Demo Convention"); err != nil {
		return fmt.Errorf("demo tenant: %w", err)
	}
	sum, err := p.demoSchedule(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Demo convention %q: %d days, %d rooms, %d sessions (%s/v1/conventions/%s)\n",
		demoConvention, sum.Days, sum.Rooms, sum.Events, p.cfg.BaseURL(), demoConvention)
	fmt.Fprintln(stdout, "Demo links, one per role (tokens valid 24h):")
	for _, r := range []auth.Role{auth.RoleAttendee, auth.RoleSpeaker, auth.RoleModerator, auth.RoleOrganizer} {
		user := "demo-" + r.String()
		tok, err := p.issuer.Mint(ctx, auth.MintRequest{
			Tenant: demoTenant, Subject: user, Name: "Demo " + strings.ToUpper(r.String()[:1]) + r.String()[1:],
			Role: r, TTL: 24 * time.Hour,
		})
		if err != nil {
			return fmt.Errorf("demo token: %w", err)
		}
		fmt.Fprintf(stdout, "  %-9s %s/t/%s/live/%s?token=%s\n", r.String()+":", p.cfg.BaseURL(), demoTenant, demoStage, url.QueryEscape(tok))
	}
	return nil
}
