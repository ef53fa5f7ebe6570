package k8stest

import (
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/plenaryhq/plenary/recorder/vodjob"
)

// deployableOverlays are the overlays that deploy Plenary.
var deployableOverlays = []string{"overlays/single-region", "overlays/multi-region"}

// TestScaledObjectQueue checks the recorder's KEDA trigger against the code:
// the queue is <--prefix>.<vodjob.Queue> as internal/queue names RabbitMQ
// queues, the host is the RabbitmqCluster's Service, the credentials come
// from variables the scaled container defines, and every metadata key is
// one KEDA's rabbitmq scaler documents.
func TestScaledObjectQueue(t *testing.T) {
	h := help(t, "serve")
	for _, k := range deployableOverlays {
		objs := rendered(t, k)
		sos := ofKind(objs, "ScaledObject")
		if len(sos) == 0 {
			t.Fatalf("%s: no ScaledObject", k)
		}
		for _, o := range sos {
			so := decodeStrict(t, o).(*ScaledObject)
			// The plenary process KEDA scales, with its effective flags.
			var target *invocation
			for _, iv := range invocations(t, objs) {
				if iv.pod.owner.Kind == "Deployment" && iv.pod.owner.Name == so.Spec.ScaleTargetRef.Name {
					target = &iv
				}
			}
			if target == nil {
				t.Fatalf("%s %s: target %s runs no plenary", k, o.id(), so.Spec.ScaleTargetRef.Name)
			}
			cfg := serveConfig(t, *target, objs, h)
			if roles, _ := rolesOf(t, cfg, h); !slices.Contains(roles, "recorder") {
				t.Errorf("%s %s scales %s, which does not run the recorder role", k, o.id(), target.pod.owner.id())
			}
			env := map[string]bool{}
			for _, e := range target.container.Env {
				env[e.Name] = true
			}
			for _, tr := range so.Spec.Triggers {
				if tr.Type != "rabbitmq" {
					continue
				}
				md := tr.Metadata
				for key := range md {
					if !rabbitmqTriggerKeys[key] {
						t.Errorf("%s %s: metadata key %q is not a rabbitmq scaler parameter", k, o.id(), key)
					}
				}
				if want := cfg["prefix"] + "." + vodjob.Queue; md["queueName"] != want {
					t.Errorf("%s %s: queueName %q, want %q (--prefix %q + vodjob.Queue)", k, o.id(), md["queueName"], want, cfg["prefix"])
				}
				if md["mode"] != "QueueLength" && md["mode"] != "MessageRate" {
					t.Errorf("%s %s: mode %q", k, o.id(), md["mode"])
				}
				if _, err := strconv.ParseFloat(md["value"], 64); err != nil {
					t.Errorf("%s %s: value %q is not a number", k, o.id(), md["value"])
				}
				for _, key := range []string{"usernameFromEnv", "passwordFromEnv", "hostFromEnv"} {
					if v, ok := md[key]; ok && !env[v] {
						t.Errorf("%s %s: %s %s is not an env var of the scaled container", k, o.id(), key, v)
					}
				}
				u, err := url.Parse(md["host"])
				if err != nil || u.Scheme != "amqp" {
					t.Errorf("%s %s: host %q is not an amqp URL", k, o.id(), md["host"])
					continue
				}
				if u.User != nil {
					t.Errorf("%s %s: host %q carries credentials; use usernameFromEnv/passwordFromEnv", k, o.id(), md["host"])
				}
				// <cluster>.<namespace>.svc: the operator's client Service.
				name, ns, _ := strings.Cut(strings.TrimSuffix(u.Hostname(), ".svc"), ".")
				if _, ok := find(objs, "RabbitmqCluster", name); !ok || ns != o.Namespace {
					t.Errorf("%s %s: host %s is not the Service of a RabbitmqCluster in namespace %s", k, o.id(), u.Host, o.Namespace)
				}
			}
		}
	}
}

// TestBackendURLs checks what each serve process connects to: the Redis URL
// names a rendered Service and port, the AMQP URL a RabbitmqCluster, and the
// MongoDB URI comes from the Secret the MongoDB Community Operator writes for
// a user of a MongoDBCommunity (<name>-<db>-<user>) that may write the
// database Plenary uses.
func TestBackendURLs(t *testing.T) {
	h := help(t, "serve")
	for _, k := range deployableOverlays {
		objs := rendered(t, k)
		// The operator's connection-string Secrets: <name>-<db>-<user>, or
		// the user's connectionStringSecretName.
		mongoSecrets := map[string][]string{} // secret name -> databases the user may write
		for _, o := range ofKind(objs, "MongoDBCommunity") {
			m := decodeStrict(t, o).(*MongoDBCommunity)
			for _, u := range m.Spec.Users {
				var dbs []string
				for _, r := range u.Roles {
					if r.Name == "readWrite" || r.Name == "dbOwner" {
						dbs = append(dbs, r.DB)
					}
				}
				name := u.ConnectionStringSecretName
				if name == "" {
					name = o.Name + "-" + u.DB + "-" + u.Name
				}
				mongoSecrets[name] = dbs
				if _, ok := find(objs, "Secret", u.PasswordSecretRef.Name); !ok {
					t.Errorf("%s %s: user %s's password Secret %s is not rendered", k, o.id(), u.Name, u.PasswordSecretRef.Name)
				}
			}
		}
		for _, iv := range serveRuns(t)[k] {
			cfg := serveConfig(t, iv, objs, h)
			for _, e := range iv.container.Env {
				switch e.Name {
				case "PLENARY_REDIS_URL":
					host, port := urlHost(t, e.Value)
					o, ok := find(objs, "Service", host)
					if !ok || !servicePort(t, o, port) {
						t.Errorf("%s %s: Redis %s:%s is not a rendered Service port", k, iv.where(), host, port)
					}
				case "PLENARY_AMQP_URL":
					host, port := urlHost(t, e.Value)
					if _, ok := find(objs, "RabbitmqCluster", host); !ok || port != "5672" {
						t.Errorf("%s %s: AMQP %s:%s is not a RabbitmqCluster's AMQP port", k, iv.where(), host, port)
					}
				case "PLENARY_MONGO_URI":
					ref := e.ValueFrom
					if ref == nil || ref.SecretKeyRef == nil {
						t.Errorf("%s %s: PLENARY_MONGO_URI must come from the operator's connection-string Secret", k, iv.where())
						continue
					}
					dbs, ok := mongoSecrets[ref.SecretKeyRef.Name]
					if !ok || ref.SecretKeyRef.Key != "connectionString.standard" && ref.SecretKeyRef.Key != "connectionString.standardSrv" {
						t.Errorf("%s %s: PLENARY_MONGO_URI from %s/%s, which no MongoDBCommunity user provides", k, iv.where(),
							ref.SecretKeyRef.Name, ref.SecretKeyRef.Key)
					} else if !slices.Contains(dbs, cfg["mongo-database"]) {
						t.Errorf("%s %s: the MongoDB user may not write database %q (--mongo-database)", k, iv.where(), cfg["mongo-database"])
					}
				}
			}
			for _, f := range []string{"redis-url", "amqp-url", "mongo-uri"} {
				if cfg[f] == "" {
					t.Errorf("%s %s: --%s is not set; the process would use its embedded default", k, iv.where(), f)
				}
			}
		}
	}
}

// urlHost returns host and port of a URL whose $(VAR) parts are unresolved.
func urlHost(t testing.TB, raw string) (string, string) {
	t.Helper()
	u, err := url.Parse(varRefRE.ReplaceAllString(raw, "x"))
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	return host, port
}

// servicePort reports whether Service o has port.
func servicePort(t testing.TB, o object, port string) bool {
	t.Helper()
	for _, p := range decodeStrict(t, o).(*corev1.Service).Spec.Ports {
		if strconv.Itoa(int(p.Port)) == port {
			return true
		}
	}
	return false
}

// TestRabbitmqPerQueueMetrics checks that RabbitMQ serves per-queue metrics,
// which the backlog alert and the jobs dashboard select by queue.
func TestRabbitmqPerQueueMetrics(t *testing.T) {
	for _, k := range deployableOverlays {
		for _, o := range ofKind(rendered(t, k), "RabbitmqCluster") {
			rc := decodeStrict(t, o).(*RabbitmqCluster)
			if rc.Spec.Rabbitmq == nil || !strings.Contains(rc.Spec.Rabbitmq.AdditionalConfig, "prometheus.return_per_object_metrics = true") {
				t.Errorf("%s %s: per-object metrics are off; rabbitmq_queue_messages_ready has no queue label", k, o.id())
			}
		}
	}
}
