package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/plenaryhq/plenary/scheduler"
)

const scheduleSynopsis = `Imports a timetable into a running Plenary or exports one from it, over
its REST API with an organizer token (plenary token --role organizer).

  plenary schedule import --url URL --token JWT --convention SLUG FILE
  plenary schedule export --url URL --token JWT --convention SLUG --format xml|json|ics [--out FILE]

Import detects frab/pentabarf XML or c3voc JSON (or --format frab-xml|c3voc-json),
re-imports by GUID (never duplicating), and prints the summary as JSON.`

func runSchedule(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "import" && args[0] != "export") {
		fmt.Fprintln(stderr, scheduleSynopsis)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return fmt.Errorf("%w: want a subcommand: import or export", errUsage)
	}
	sub := args[0]
	fs := newFlagSet("schedule "+sub, scheduleSynopsis, stderr)
	var baseURL, token, slug, format, out string
	fs.StringVar(&baseURL, "url", envOr("url", "http://127.0.0.1:8080"), "base URL of the running server")
	fs.StringVar(&token, "token", envOr("token", ""), "organizer token of the convention's tenant (or PLENARY_TOKEN)")
	fs.StringVar(&slug, "convention", "", "convention slug (required)")
	if sub == "import" {
		fs.StringVar(&format, "format", "", "frab-xml or c3voc-json (default: detected from the file)")
	} else {
		fs.StringVar(&format, "format", "xml", "xml (frab), json (c3voc) or ics (iCalendar)")
		fs.StringVar(&out, "out", "", "file to write (default: stdout)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if slug == "" || token == "" {
		return fmt.Errorf("%w: --convention and --token are required", errUsage)
	}
	if sub == "export" {
		w := stdout
		if out != "" {
			f, err := os.Create(out)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		return scheduler.ExportCLI(ctx, baseURL, token, slug, format, w)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: want exactly one schedule FILE to import", errUsage)
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	sum, err := scheduler.ImportCLI(ctx, baseURL, token, slug, f, format)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(sum)
}
