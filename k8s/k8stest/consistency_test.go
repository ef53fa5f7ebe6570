package k8stest

import (
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// external are objects the manifests refer to that something other than
// the manifests creates, with who creates them.
var external = map[string]string{
	"Secret/plenary-rabbitmq-default-user": "RabbitMQ Cluster Operator (RabbitmqCluster plenary-rabbitmq)",
	"Secret/plenary-mongodb-admin-plenary": "MongoDB Community Operator (user plenary of MongoDBCommunity plenary-mongodb)",
	"Secret/plenary-loadtest":              "the operator, before a load test (docs/operations.md)",
	"ConfigMap/kube-root-ca.crt":           "Kubernetes, in every namespace",
	// The merge Job reads the shards' volume; loadtest_test.go checks the name.
	"PersistentVolumeClaim/plenary-loadtest-reports": "k8s/loadtest, applied before k8s/loadtest/merge",
}

// TestWorkloadSelectors checks that each workload's selector matches its
// own pod template (the API server refuses it otherwise) and that Services,
// PodDisruptionBudgets and NetworkPolicies select pods that exist.
func TestWorkloadSelectors(t *testing.T) {
	for k, objs := range allRendered(t) {
		t.Run(k, func(t *testing.T) {
			// Pods that will exist: the templates, and what the operators
			// create from their resources.
			pods := podLabelSets(t, objs)
			for _, p := range podTemplates(t, objs) {
				if p.selector != nil && !selects(t, p.selector, []labels.Set{labels.Set(p.tmpl.Labels)}) {
					t.Errorf("%s: selector %v does not match its pod template labels %v", p.owner.id(), p.selector, p.tmpl.Labels)
				}
			}
			for _, o := range objs {
				switch v := decodeStrict(t, o).(type) {
				case *corev1.Service:
					if !selects(t, &metav1.LabelSelector{MatchLabels: v.Spec.Selector}, pods) {
						t.Errorf("%s selects no pod (selector %v)", o.id(), v.Spec.Selector)
					}
				case *policyv1.PodDisruptionBudget:
					if !selects(t, v.Spec.Selector, pods) {
						t.Errorf("%s selects no pod", o.id())
					}
				case *networkingv1.NetworkPolicy:
					if !selects(t, &v.Spec.PodSelector, pods) {
						t.Errorf("%s protects no pod (podSelector %v)", o.id(), v.Spec.PodSelector)
					}
				}
			}
		})
	}
}

// TestReferences checks that every ConfigMap, Secret, key, volume claim and
// service account a pod uses is rendered too (or listed in external), that
// probes and mounts name real ports and volumes, and that autoscalers and
// ingress backends point at objects and ports that exist.
func TestReferences(t *testing.T) {
	for k, objs := range allRendered(t) {
		t.Run(k, func(t *testing.T) {
			// ref checks one reference: the object is rendered (or made by
			// someone else, see external) and has the key, if one is named.
			ref := func(owner object, kind, name, key string) {
				t.Helper()
				if _, ok := external[kind+"/"+name]; ok {
					return
				}
				o, ok := find(objs, kind, name)
				if !ok {
					t.Errorf("%s refers to %s/%s, which is not rendered", owner.id(), kind, name)
					return
				}
				if key != "" && !hasKey(o, key) {
					t.Errorf("%s refers to key %q of %s, which has no such key", owner.id(), key, o.id())
				}
			}
			for _, p := range podTemplates(t, objs) {
				checkPodRefs(t, p, ref)
			}
			for _, o := range objs {
				switch v := decodeStrict(t, o).(type) {
				case *autoscalingv2.HorizontalPodAutoscaler:
					ref(o, v.Spec.ScaleTargetRef.Kind, v.Spec.ScaleTargetRef.Name, "")
				case *ScaledObject:
					// KEDA creates its own HPA; a second one would fight it.
					ref(o, "Deployment", v.Spec.ScaleTargetRef.Name, "")
					for _, h := range ofKind(objs, "HorizontalPodAutoscaler") {
						hpa := decodeStrict(t, h).(*autoscalingv2.HorizontalPodAutoscaler)
						if hpa.Spec.ScaleTargetRef.Name == v.Spec.ScaleTargetRef.Name {
							t.Errorf("%s and %s both scale %s", o.id(), h.id(), hpa.Spec.ScaleTargetRef.Name)
						}
					}
				case *networkingv1.Ingress:
					checkIngress(t, o, v, objs)
				}
			}
		})
	}
}

// checkPodRefs checks the references of one pod template.
func checkPodRefs(t *testing.T, p podTemplate, ref func(owner object, kind, name, key string)) {
	t.Helper()
	spec := p.tmpl.Spec
	if spec.ServiceAccountName != "" {
		ref(p.owner, "ServiceAccount", spec.ServiceAccountName, "")
	}
	vols := map[string]bool{}
	for _, v := range spec.Volumes {
		vols[v.Name] = true
		switch {
		case v.ConfigMap != nil:
			ref(p.owner, "ConfigMap", v.ConfigMap.Name, "")
		case v.Secret != nil:
			ref(p.owner, "Secret", v.Secret.SecretName, "")
		case v.PersistentVolumeClaim != nil:
			ref(p.owner, "PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName, "")
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil {
					ref(p.owner, "ConfigMap", s.ConfigMap.Name, "")
				}
				if s.Secret != nil {
					ref(p.owner, "Secret", s.Secret.Name, "")
				}
			}
		}
	}
	// A StatefulSet's volumeClaimTemplates are volumes of its pods too.
	claims := map[string]bool{}
	if p.owner.Kind == "StatefulSet" {
		vcts, _ := dig(p.owner.Map, "spec", "volumeClaimTemplates").([]any)
		for _, c := range vcts {
			if name, ok := dig(c, "metadata", "name").(string); ok {
				claims[name] = true
			}
		}
	}
	for _, c := range p.containers() {
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef != nil {
				ref(p.owner, "ConfigMap", ef.ConfigMapRef.Name, "")
			}
			if ef.SecretRef != nil {
				ref(p.owner, "Secret", ef.SecretRef.Name, "")
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if s := e.ValueFrom.SecretKeyRef; s != nil {
				ref(p.owner, "Secret", s.Name, s.Key)
			}
			if cm := e.ValueFrom.ConfigMapKeyRef; cm != nil {
				ref(p.owner, "ConfigMap", cm.Name, cm.Key)
			}
		}
		for _, m := range c.VolumeMounts {
			if !vols[m.Name] && !claims[m.Name] {
				t.Errorf("%s container %s mounts volume %q, which the pod does not have", p.owner.id(), c.Name, m.Name)
			}
		}
		ports := map[string]bool{}
		for _, cp := range c.Ports {
			ports[cp.Name] = true
		}
		for _, pr := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
			if pr == nil {
				continue
			}
			var port string
			switch {
			case pr.HTTPGet != nil:
				port = pr.HTTPGet.Port.String()
			case pr.TCPSocket != nil:
				port = pr.TCPSocket.Port.String()
			}
			// Numeric probe ports are fine; a name must be declared.
			if port != "" && !ports[port] && strings.Trim(port, "0123456789") != "" {
				t.Errorf("%s container %s probes port %q, which it does not declare", p.owner.id(), c.Name, port)
			}
		}
	}
}

// checkIngress checks that every backend is a rendered Service with the
// named port.
func checkIngress(t *testing.T, o object, ing *networkingv1.Ingress, objs []object) {
	t.Helper()
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			b := p.Backend.Service
			if b == nil {
				t.Errorf("%s: path %s has no service backend", o.id(), p.Path)
				continue
			}
			so, ok := find(objs, "Service", b.Name)
			if !ok {
				t.Errorf("%s: path %s goes to Service %s, which is not rendered", o.id(), p.Path, b.Name)
				continue
			}
			svc := decodeStrict(t, so).(*corev1.Service)
			found := false
			for _, sp := range svc.Spec.Ports {
				found = found || (b.Port.Name != "" && sp.Name == b.Port.Name) || (b.Port.Number != 0 && sp.Port == b.Port.Number)
			}
			if !found {
				t.Errorf("%s: path %s goes to port %v of %s, which has no such port", o.id(), p.Path, b.Port, so.id())
			}
		}
	}
}

// hasKey reports whether a ConfigMap or Secret has data under key.
func hasKey(o object, key string) bool {
	for _, field := range []string{"data", "stringData", "binaryData"} {
		if m, ok := dig(o.Map, field).(map[string]any); ok {
			if _, ok := m[key]; ok {
				return true
			}
		}
	}
	return false
}

// TestSecretsArePlaceholders makes sure no Secret in the repository carries
// a real value: every value says CHANGE_ME.
func TestSecretsArePlaceholders(t *testing.T) {
	for k, objs := range allRendered(t) {
		for _, o := range ofKind(objs, "Secret") {
			s := decodeStrict(t, o).(*corev1.Secret)
			for key, v := range s.StringData {
				if !strings.Contains(v, "CHANGE_ME") {
					t.Errorf("%s: %s key %s is not a CHANGE_ME placeholder", k, o.id(), key)
				}
			}
			for key, v := range s.Data {
				if !strings.Contains(string(v), "CHANGE_ME") {
					t.Errorf("%s: %s key %s is not a CHANGE_ME placeholder", k, o.id(), key)
				}
			}
		}
	}
}

// TestBackendAccess checks the network policies' premise: every pod that is
// given a backend URL or credential is either labelled plenary.io/client or
// on the host network (admitted by ipBlock rules, which must then exist in
// every backend policy).
func TestBackendAccess(t *testing.T) {
	for _, k := range []string{"overlays/single-region", "overlays/multi-region"} {
		objs := rendered(t, k)
		hostNet := false
		for _, p := range podTemplates(t, objs) {
			// A pod "uses the backends" when it is handed a backend URL or
			// a MongoDB credential.
			uses := false
			for _, c := range p.containers() {
				for _, e := range c.Env {
					uses = uses || strings.HasPrefix(e.Name, "PLENARY_") && strings.HasSuffix(e.Name, "_URL") ||
						e.Name == "PLENARY_MONGO_URI" || e.Name == "MONGO_PASSWORD"
				}
			}
			if !uses {
				continue
			}
			hostNet = hostNet || p.tmpl.Spec.HostNetwork
			if p.tmpl.Labels["plenary.io/client"] != "true" {
				t.Errorf("%s: %s uses the backends but its pods lack plenary.io/client=true", k, p.owner.id())
			}
		}
		for _, o := range ofKind(objs, "NetworkPolicy") {
			np := decodeStrict(t, o).(*networkingv1.NetworkPolicy)
			// Each backend policy must admit labelled clients, and the
			// nodes when some client is on the host network.
			client, ipBlock := false, false
			for _, r := range np.Spec.Ingress {
				for _, f := range r.From {
					client = client || f.PodSelector != nil && f.PodSelector.MatchLabels["plenary.io/client"] == "true"
					ipBlock = ipBlock || f.IPBlock != nil
				}
			}
			if !client {
				t.Errorf("%s: %s does not admit plenary.io/client pods", k, o.id())
			}
			if hostNet && !ipBlock {
				t.Errorf("%s: %s has no ipBlock rule for host-network SFU nodes", k, o.id())
			}
		}
	}
}
