package k8stest

import (
	"errors"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// typeOf maps apiVersion and kind to a fresh value of the Go type the object
// must decode into. A kind missing here fails the test: add its type (or,
// for an operator resource, a struct in crd_types_test.go).
var typeOf = map[string]func() any{
	"v1/Namespace":                             func() any { return &corev1.Namespace{} },
	"v1/ConfigMap":                             func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                                func() any { return &corev1.Secret{} },
	"v1/Service":                               func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                        func() any { return &corev1.ServiceAccount{} },
	"v1/PersistentVolumeClaim":                 func() any { return &corev1.PersistentVolumeClaim{} },
	"apps/v1/Deployment":                       func() any { return &appsv1.Deployment{} },
	"apps/v1/StatefulSet":                      func() any { return &appsv1.StatefulSet{} },
	"apps/v1/DaemonSet":                        func() any { return &appsv1.DaemonSet{} },
	"batch/v1/Job":                             func() any { return &batchv1.Job{} },
	"batch/v1/CronJob":                         func() any { return &batchv1.CronJob{} },
	"networking.k8s.io/v1/Ingress":             func() any { return &networkingv1.Ingress{} },
	"networking.k8s.io/v1/NetworkPolicy":       func() any { return &networkingv1.NetworkPolicy{} },
	"policy/v1/PodDisruptionBudget":            func() any { return &policyv1.PodDisruptionBudget{} },
	"autoscaling/v2/HorizontalPodAutoscaler":   func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"rbac.authorization.k8s.io/v1/ClusterRole": func() any { return &rbacv1.ClusterRole{} },
	"rbac.authorization.k8s.io/v1/ClusterRoleBinding": func() any {
		return &rbacv1.ClusterRoleBinding{}
	},
	"rbac.authorization.k8s.io/v1/Role":        func() any { return &rbacv1.Role{} },
	"rbac.authorization.k8s.io/v1/RoleBinding": func() any { return &rbacv1.RoleBinding{} },
	// Operator resources: crd_types_test.go.
	"monitoring.coreos.com/v1/ServiceMonitor":          func() any { return &ServiceMonitor{} },
	"monitoring.coreos.com/v1/PodMonitor":              func() any { return &PodMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule":          func() any { return &PrometheusRule{} },
	"keda.sh/v1alpha1/ScaledObject":                    func() any { return &ScaledObject{} },
	"rabbitmq.com/v1beta1/RabbitmqCluster":             func() any { return &RabbitmqCluster{} },
	"mongodbcommunity.mongodb.com/v1/MongoDBCommunity": func() any { return &MongoDBCommunity{} },
}

// decodeStrict decodes o into the type its apiVersion and kind map to;
// unknown or duplicate fields are errors.
func decodeStrict(t testing.TB, o object) any {
	t.Helper()
	mk, ok := typeOf[o.APIVersion+"/"+o.Kind]
	if !ok {
		t.Fatalf("%s: no Go type for %s %s; add one to typeOf", o.id(), o.APIVersion, o.Kind)
	}
	v := mk()
	if err := unmarshalStrict(o.YAML, v); err != nil {
		t.Fatalf("%s does not decode strictly into %T: %v", o.id(), v, err)
	}
	return v
}

// unmarshalStrict decodes YAML into v the way the API server decodes a
// request: YAML to JSON (duplicate keys rejected), then JSON with
// case-sensitive field names, unknown and duplicate fields rejected, and no
// scalar coercion (a number is not a string). sigs.k8s.io/yaml's own
// UnmarshalStrict is laxer: it matches field names case-insensitively and
// turns numbers into strings when the target is a string.
func unmarshalStrict(y []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(y)
	if err != nil {
		return err
	}
	strict, err := sigsjson.UnmarshalStrict(j, v)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// TestStrictDecode decodes every rendered object strictly into its type.
func TestStrictDecode(t *testing.T) {
	for k, objs := range allRendered(t) {
		t.Run(k, func(t *testing.T) {
			for _, o := range objs {
				t.Run(o.id(), func(t *testing.T) { decodeStrict(t, o) })
			}
		})
	}
}

// TestStrictDecodeRejects proves the decoder is strict: a misspelt field
// fails, as a typo in a manifest would.
func TestStrictDecodeRejects(t *testing.T) {
	cases := []struct {
		name string
		yaml string
	}{
		{"core field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 2}\n"},
		{"nested field", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 80, targetport: 8080}]}\n"},
		{"operator field", "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: x}\nspec: {scaleTargetRef: {name: y}, minReplicas: 1, triggers: []}\n"},
		{"wrong type", "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: x}\nspec: {scaleTargetRef: {name: y}, triggers: [{type: rabbitmq, metadata: {value: 2}}]}\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var head struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
			}
			if err := yaml.Unmarshal([]byte(c.yaml), &head); err != nil {
				t.Fatal(err)
			}
			v := typeOf[head.APIVersion+"/"+head.Kind]()
			if err := unmarshalStrict([]byte(c.yaml), v); err == nil {
				t.Fatalf("decoded %q without error", c.yaml)
			}
		})
	}
}
