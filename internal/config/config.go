// Package config is Plenary's configuration: coded defaults, then an
// optional YAML file (unknown fields rejected), then PLENARY_* environment
// variables, then command-line flags, then Validate.
//
// Every setting has exactly one flag, and its environment variable is the
// flag name upper-cased with '-' turned into '_' and PLENARY_ in front
// (--mongo-uri ↔ PLENARY_MONGO_URI); the YAML key is the flag name with '-'
// turned into '_' (mongo_uri). A zero value means "use the default" and the
// field's comment says what that default is.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Role names a component that `plenary serve` can run.
type Role string

// The roles of the platform; see ARCHITECTURE.md, Components.
const (
	RoleSFU       Role = "sfu"
	RoleSignaling Role = "signaling"
	RoleChat      Role = "chat"
	RoleScheduler Role = "scheduler"
	RoleRecorder  Role = "recorder"
	RoleWeb       Role = "web"
)

// AllRoles lists every role in start order.
var AllRoles = []Role{RoleSFU, RoleSignaling, RoleChat, RoleScheduler, RoleRecorder, RoleWeb}

// ErrInvalid wraps every validation failure.
var ErrInvalid = errors.New("invalid configuration")

// Config is the whole configuration of `plenary serve`.
type Config struct {
	// Roles to run. Default: all of them.
	Roles List `yaml:"roles"`
	// Listen is the HTTP address (API, WebSocket, web app, health, metrics).
	// Default "127.0.0.1:8080".
	Listen string `yaml:"listen"`
	// PublicURL is the base URL users reach this server at, used in printed
	// links. Default "http://" + Listen.
	PublicURL string `yaml:"public_url"`
	// DataDir holds the embedded store and local media. Default "./data".
	DataDir string `yaml:"data_dir"`
	// Demo creates the demo tenant and convention and prints links.
	Demo bool `yaml:"demo"`

	// MongoURI selects an external MongoDB (or another Plenary process's
	// embedded store). Default: embedded FerretDB under DataDir.
	MongoURI string `yaml:"mongo_uri"`
	// MongoDatabase is the database name. Default "plenary".
	MongoDatabase string `yaml:"mongo_database"`
	// MongoListen is where the embedded store serves other local processes.
	// Default "127.0.0.1:0" (a free port; the URI is printed and written to
	// DataDir/mongo.uri).
	MongoListen string `yaml:"mongo_listen"`
	// RedisURL selects Redis pub/sub for the bus. Default: in-process bus.
	RedisURL string `yaml:"redis_url"`
	// AMQPURL selects RabbitMQ for durable jobs. Default: the in-process
	// queue persisted in the store.
	AMQPURL string `yaml:"amqp_url"`
	// AMQPQueueType is the RabbitMQ queue type Plenary declares: "classic"
	// (default; one node holds each queue) or "quorum" (replicated, for a
	// cluster of 3 or more nodes). Existing queues keep their type: changing
	// it needs them emptied and deleted first (docs/operations.md).
	AMQPQueueType string `yaml:"amqp_queue_type"`
	// Prefix namespaces Redis channels and RabbitMQ queues so that several
	// deployments or test runs can share one server. Default "plenary".
	Prefix string `yaml:"prefix"`

	// Region names this node's region for placement and relays. Default
	// "local".
	Region string `yaml:"region"`
	// NodeID names this SFU node in the node registry and on the bus (relay
	// links and the SFU RPC address it). Default: "<region>-<hostname>".
	NodeID string `yaml:"node_id"`
	// SFUUDPPort is the single UDP port of the SFU's ICE UDP mux. Default
	// 7882; 0 picks a free port.
	SFUUDPPort int `yaml:"sfu_udp_port"`
	// SFUTCPPort is the ICE-TCP fallback port. Default 7881; 0 picks a free
	// port, -1 disables ICE-TCP.
	SFUTCPPort int `yaml:"sfu_tcp_port"`
	// SFUBindIP is the address the SFU's media ports bind. Default "0.0.0.0".
	SFUBindIP string `yaml:"sfu_bind_ip"`
	// SFUNATIPs are public IPs advertised for 1:1 NAT (cloud nodes).
	// Default: none.
	SFUNATIPs List `yaml:"sfu_nat_ips"`
	// AllowedOrigins lists the Origins a browser WebSocket may come from.
	// Default: the origin of PublicURL only.
	AllowedOrigins List `yaml:"allowed_origins"`

	// RecordingsDir holds raw recordings as they are written. Default
	// DataDir/recordings.
	RecordingsDir string `yaml:"recordings_dir"`
	// MediaDir holds packaged HLS media served under /media/. Default
	// DataDir/media.
	MediaDir string `yaml:"media_dir"`
	// MediaSigningKey signs playback URLs (at least 32 bytes; a secret: set
	// it with PLENARY_MEDIA_SIGNING_KEY and the same on every process).
	// Default: a random key kept in DataDir/media-signing.key.
	MediaSigningKey string `yaml:"media_signing_key"`

	// ChatWindow is how long a big room (500+ members on a gateway)
	// collects chat events before sending them together: fewer, larger
	// writes for up to this much added latency. Default 100ms; 0 sends
	// every event at once.
	ChatWindow time.Duration `yaml:"chat_window"`
	// DebugListen serves Go's profiler (/debug/pprof/) on a separate
	// address, for operators measuring a running node. Default "" (off);
	// never expose it beyond the host or a private network.
	DebugListen string `yaml:"debug_listen"`
	// DrainTimeout bounds the graceful drain after SIGTERM. Default 20s.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// LogLevel is debug, info, warn or error. Default "info".
	LogLevel string `yaml:"log_level"`
	// LogFormat is text or json. Default "text".
	LogFormat string `yaml:"log_format"`
}

// Defaults returns the coded defaults: the whole platform on one machine.
func Defaults() Config {
	return Config{
		Roles:          List{},
		Listen:         "127.0.0.1:8080",
		DataDir:        "./data",
		MongoDatabase:  "plenary",
		MongoListen:    "127.0.0.1:0",
		Prefix:         "plenary",
		AMQPQueueType:  "classic",
		Region:         "local",
		SFUUDPPort:     7882,
		SFUTCPPort:     7881,
		SFUBindIP:      "0.0.0.0",
		SFUNATIPs:      List{},
		AllowedOrigins: List{},
		DrainTimeout:   20 * time.Second,
		ChatWindow:     100 * time.Millisecond,
		LogLevel:       "info",
		LogFormat:      "text",
	}
}

// HasRole reports whether r is among the roles to run; no roles means all.
func (c *Config) HasRole(r Role) bool {
	return len(c.Roles) == 0 || slices.Contains(c.Roles, string(r))
}

// BaseURL is PublicURL or, by default, http://Listen.
func (c *Config) BaseURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	return "http://" + c.Listen
}

// Validate checks the configuration and says what to change.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
	}
	for _, r := range c.Roles {
		if !slices.Contains(AllRoles, Role(r)) {
			bad("--roles: unknown role %q (use a comma-separated subset of %s)", r, roleNames())
		}
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("--listen %q: want host:port, e.g. 127.0.0.1:8080", c.Listen)
	}
	if c.ChatWindow < 0 || c.ChatWindow > time.Second {
		bad("--chat-window %s: want 0 (off) to 1s, e.g. 40ms", c.ChatWindow)
	}
	if c.DebugListen != "" {
		if _, _, err := net.SplitHostPort(c.DebugListen); err != nil {
			bad("--debug-listen %q: want host:port, e.g. 127.0.0.1:6060", c.DebugListen)
		}
	}
	if _, _, err := net.SplitHostPort(c.MongoListen); err != nil {
		bad("--mongo-listen %q: want host:port, e.g. 127.0.0.1:27017", c.MongoListen)
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("--public-url %q: want an absolute http(s) URL", c.PublicURL)
		}
	}
	checkURL := func(flag, v string, schemes ...string) {
		if v == "" {
			return
		}
		u, err := url.Parse(v)
		if err != nil || !slices.Contains(schemes, u.Scheme) {
			bad("--%s: want a URL with scheme %s", flag, strings.Join(schemes, " or "))
		}
	}
	checkURL("mongo-uri", c.MongoURI, "mongodb", "mongodb+srv")
	checkURL("redis-url", c.RedisURL, "redis", "rediss", "unix")
	checkURL("amqp-url", c.AMQPURL, "amqp", "amqps")
	if c.AMQPQueueType != "classic" && c.AMQPQueueType != "quorum" {
		bad("--amqp-queue-type %q: want classic or quorum", c.AMQPQueueType)
	}
	if c.DataDir == "" {
		bad("--data-dir must not be empty")
	}
	if c.MongoDatabase == "" {
		bad("--mongo-database must not be empty")
	}
	if !validPrefix(c.Prefix) {
		bad("--prefix %q: use lower-case letters, digits, '-', '_' or '.' (not first), at most 64", c.Prefix)
	}
	if c.Region == "" || strings.ContainsAny(c.Region, " :*?#/") {
		bad("--region %q: use letters, digits, '-' or '_' (e.g. eu-west)", c.Region)
	}
	if len(c.NodeID) > 128 || strings.ContainsAny(c.NodeID, " \t:*?[]#/>") {
		bad("--node-id %q: use letters, digits, '-', '_' or '.', at most 128", c.NodeID)
	}
	if c.SFUUDPPort < 0 || c.SFUUDPPort > 65535 {
		bad("--sfu-udp-port %d: want 0 (any free port) to 65535", c.SFUUDPPort)
	}
	if c.SFUTCPPort < -1 || c.SFUTCPPort > 65535 {
		bad("--sfu-tcp-port %d: want -1 (off), 0 (any free port) or a port up to 65535", c.SFUTCPPort)
	}
	if net.ParseIP(c.SFUBindIP) == nil {
		bad("--sfu-bind-ip %q: want an IP address such as 0.0.0.0", c.SFUBindIP)
	}
	for _, ip := range c.SFUNATIPs {
		if net.ParseIP(ip) == nil {
			bad("--sfu-nat-ips: %q is not an IP address", ip)
		}
	}
	for _, o := range c.AllowedOrigins {
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" {
			bad("--allowed-origins: %q is not an origin like https://events.example.org", o)
		}
	}
	if c.MediaSigningKey != "" && len(c.MediaSigningKey) < 32 {
		bad("--media-signing-key: at least 32 characters (e.g. openssl rand -hex 32)")
	}
	if c.DrainTimeout <= 0 {
		bad("--drain-timeout must be positive, e.g. 20s")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("--log-level %q: use debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("--log-format %q: use text or json", c.LogFormat)
	}
	return errors.Join(errs...)
}

func roleNames() string {
	names := make([]string, len(AllRoles))
	for i, r := range AllRoles {
		names[i] = string(r)
	}
	return strings.Join(names, ",")
}

// List is a comma-separated list usable as a flag and a YAML sequence or string.
type List []string

// String joins the list with commas.
func (l *List) String() string { return strings.Join(*l, ",") }

// Set replaces the list with the comma-separated values of s.
func (l *List) Set(s string) error {
	*l = (*l)[:0]
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// UnmarshalYAML accepts either a sequence or a comma-separated string.
func (l *List) UnmarshalYAML(unmarshal func(any) error) error {
	var seq []string
	if err := unmarshal(&seq); err == nil {
		*l = seq
		return nil
	}
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	return l.Set(s)
}

// validPrefix accepts what both Redis channel names and RabbitMQ queue names
// carry without escaping.
func validPrefix(p string) bool {
	if p == "" || len(p) > 64 {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_' || c == '.') && i > 0:
		default:
			return false
		}
	}
	return true
}
