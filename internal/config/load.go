package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts every environment variable Plenary reads.
const EnvPrefix = "PLENARY_"

// EnvName is the environment variable that sets the flag named flagName.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Bind defines the serve flags on fs, each bound to a field of c, with c's
// current values as the defaults shown by --help.
func (c *Config) Bind(fs *flag.FlagSet) {
	fs.Var(&c.Roles, "roles", "comma-separated roles to run: sfu,signaling,chat,scheduler,recorder,web (default: all)")
	fs.StringVar(&c.Listen, "listen", c.Listen, "HTTP address for the API, WebSocket, web app, /healthz, /readyz and /metrics")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "base URL users reach this server at, used in printed links (default http://<listen>)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the embedded store (FerretDB/SQLite) and local media")
	fs.BoolVar(&c.Demo, "demo", c.Demo, "create the demo tenant and convention (idempotent) and print ready-to-use links")
	fs.StringVar(&c.MongoURI, "mongo-uri", c.MongoURI, "MongoDB URI of an external store or another Plenary's embedded one (default: embedded FerretDB in --data-dir)")
	fs.StringVar(&c.MongoDatabase, "mongo-database", c.MongoDatabase, "database name in the store")
	fs.StringVar(&c.MongoListen, "mongo-listen", c.MongoListen, "address the embedded store serves other local Plenary processes on (port 0 = any free port)")
	fs.StringVar(&c.RedisURL, "redis-url", c.RedisURL, "Redis URL for cross-process pub/sub, e.g. redis://127.0.0.1:6379/0 (default: in-process bus)")
	fs.StringVar(&c.AMQPURL, "amqp-url", c.AMQPURL, "RabbitMQ URL for durable jobs, e.g. amqp://guest:guest@127.0.0.1:5672/ (default: in-process queue kept in the store)")
	fs.StringVar(&c.AMQPQueueType, "amqp-queue-type", c.AMQPQueueType, "type of the RabbitMQ queues Plenary declares: classic (one node) or quorum (replicated; needs existing queues emptied and deleted first)")
	fs.StringVar(&c.Prefix, "prefix", c.Prefix, "namespace for Redis channels and RabbitMQ queues shared with other deployments")
	fs.StringVar(&c.Region, "region", c.Region, "region of this node, for media placement and relays")
	fs.StringVar(&c.NodeID, "node-id", c.NodeID, "ID of this SFU node in the node registry and on the bus (default <region>-<hostname>)")
	fs.IntVar(&c.SFUUDPPort, "sfu-udp-port", c.SFUUDPPort, "the SFU's single UDP media port (ICE UDP mux); 0 = any free port")
	fs.IntVar(&c.SFUTCPPort, "sfu-tcp-port", c.SFUTCPPort, "the SFU's ICE-TCP fallback port; 0 = any free port, -1 = off")
	fs.StringVar(&c.SFUBindIP, "sfu-bind-ip", c.SFUBindIP, "address the SFU media ports bind")
	fs.Var(&c.SFUNATIPs, "sfu-nat-ips", "comma-separated public IPs to advertise for 1:1 NAT (cloud nodes)")
	fs.Var(&c.AllowedOrigins, "allowed-origins", "comma-separated origins browsers may open WebSockets from (default: the origin of --public-url)")
	fs.StringVar(&c.RecordingsDir, "recordings-dir", c.RecordingsDir, "directory of raw recordings as they are written (default <data-dir>/recordings)")
	fs.StringVar(&c.MediaDir, "media-dir", c.MediaDir, "directory of packaged HLS media served under /media/ (default <data-dir>/media)")
	fs.StringVar(&c.MediaSigningKey, "media-signing-key", c.MediaSigningKey, "secret (>= 32 chars) signing playback URLs; set the same on every process, preferably via PLENARY_MEDIA_SIGNING_KEY (default: random, kept in <data-dir>/media-signing.key)")
	fs.DurationVar(&c.ChatWindow, "chat-window", c.ChatWindow, "how long a big room (500+ members on a gateway) collects chat events before sending them together: fewer, larger writes for up to this much added latency; 0 = off")
	fs.StringVar(&c.DebugListen, "debug-listen", c.DebugListen, "address serving Go's profiler at /debug/pprof/ for operators, e.g. 127.0.0.1:6060 (default: off; keep it private)")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", c.DrainTimeout, "how long SIGTERM waits for connections and jobs to finish before exiting")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json")
}

// Load builds a Config from defaults, the YAML file named by --config (or
// PLENARY_CONFIG), PLENARY_* variables and the flags in args, in that order,
// and validates it. getenv is os.Getenv outside tests.
func Load(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	cfg := Defaults()
	var path string
	fs.StringVar(&path, "config", getenv(EnvName("config")), "YAML configuration file; keys are the flag names with '_' for '-' (unknown keys are an error)")
	cfg.Bind(fs)

	// The file comes before env and flags, so find its name first.
	if p, ok := findFlag(args, "config"); ok {
		path = p
	}
	if path != "" {
		if err := cfg.loadFile(path); err != nil {
			return cfg, err
		}
	}
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" {
			return
		}
		if v := getenv(EnvName(f.Name)); v != "" {
			if err := f.Value.Set(v); err != nil {
				envErr = errors.Join(envErr, fmt.Errorf("%w: %s=%q: %w", ErrInvalid, EnvName(f.Name), v, err))
			}
		}
	})
	if envErr != nil {
		return cfg, envErr
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("%w: unexpected argument %q", ErrInvalid, fs.Arg(0))
	}
	return cfg, cfg.Validate()
}

func (c *Config) loadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: config file: %w", ErrInvalid, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: config file %s: %w", ErrInvalid, path, err)
	}
	return nil
}

// findFlag returns the value of -name/--name in args (either "--name v" or
// "--name=v"), stopping at the first non-flag argument.
func findFlag(args []string, name string) (string, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") {
			return "", false
		}
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
		if a == name && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}
