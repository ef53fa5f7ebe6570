package k8stest

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// podTemplate is the pod template of a workload.
type podTemplate struct {
	owner    object
	selector *metav1.LabelSelector // nil for Jobs and CronJobs
	tmpl     corev1.PodTemplateSpec
}

// podTemplates returns the pod templates of every workload in objs.
func podTemplates(t testing.TB, objs []object) []podTemplate {
	t.Helper()
	var out []podTemplate
	for _, o := range objs {
		switch v := decodeStrict(t, o).(type) {
		case *appsv1.Deployment:
			out = append(out, podTemplate{o, v.Spec.Selector, v.Spec.Template})
		case *appsv1.StatefulSet:
			out = append(out, podTemplate{o, v.Spec.Selector, v.Spec.Template})
		case *appsv1.DaemonSet:
			out = append(out, podTemplate{o, v.Spec.Selector, v.Spec.Template})
		case *batchv1.Job:
			out = append(out, podTemplate{o, nil, v.Spec.Template})
		case *batchv1.CronJob:
			out = append(out, podTemplate{o, nil, v.Spec.JobTemplate.Spec.Template})
		}
	}
	return out
}

// containers returns the init and app containers of a pod template.
func (p podTemplate) containers() []corev1.Container {
	return append(append([]corev1.Container{}, p.tmpl.Spec.InitContainers...), p.tmpl.Spec.Containers...)
}

// operatorPods are the pod labels the operators give the pods they create
// for the custom resources in objs (RabbitMQ Cluster Operator:
// app.kubernetes.io/name=<cluster>; MongoDB Community Operator:
// app=<name>-svc), so that selectors aimed at them can be checked.
func operatorPods(objs []object) []labels.Set {
	var out []labels.Set
	for _, o := range objs {
		switch o.Kind {
		case "RabbitmqCluster":
			out = append(out, labels.Set{"app.kubernetes.io/name": o.Name,
				"app.kubernetes.io/component": "rabbitmq", "app.kubernetes.io/part-of": "rabbitmq"})
		case "MongoDBCommunity":
			out = append(out, labels.Set{"app": o.Name + "-svc"})
		}
	}
	return out
}

// operatorServices are the Service labels the RabbitMQ Cluster Operator
// gives the client Service of each cluster.
func operatorServices(objs []object) []labels.Set {
	var out []labels.Set
	for _, o := range objs {
		if o.Kind == "RabbitmqCluster" {
			out = append(out, labels.Set{"app.kubernetes.io/name": o.Name,
				"app.kubernetes.io/component": "rabbitmq", "app.kubernetes.io/part-of": "rabbitmq"})
		}
	}
	return out
}

// selects reports whether sel matches any of the label sets.
func selects(t testing.TB, sel *metav1.LabelSelector, sets []labels.Set) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("selector %v: %v", sel, err)
	}
	if s.Empty() {
		return len(sets) > 0
	}
	for _, set := range sets {
		if s.Matches(set) {
			return true
		}
	}
	return false
}

// podLabelSets returns the labels of every pod template, then of the pods
// operators create.
func podLabelSets(t testing.TB, objs []object) []labels.Set {
	t.Helper()
	var sets []labels.Set
	for _, p := range podTemplates(t, objs) {
		sets = append(sets, labels.Set(p.tmpl.Labels))
	}
	return append(sets, operatorPods(objs)...)
}
