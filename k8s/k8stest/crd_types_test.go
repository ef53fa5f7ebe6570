package k8stest

import (
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The operator resources the manifests use, as the fields their operators
// document (CRD schemas of prometheus-operator monitoring.coreos.com/v1,
// KEDA keda.sh/v1alpha1, RabbitMQ Cluster Operator rabbitmq.com/v1beta1,
// MongoDB Community Operator mongodbcommunity.mongodb.com/v1). Only the
// fields Plenary uses or is likely to need are listed; decoding is strict,
// so a misspelt or invented field fails. Add a field here, with its
// documented name and type, before using it in a manifest.

// TypeMeta and ObjectMeta are the Kubernetes ones for every resource.
type crdHead struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
}

// ServiceMonitor (monitoring.coreos.com/v1).
type ServiceMonitor struct {
	crdHead `json:",inline"`
	Spec    struct {
		JobLabel          string               `json:"jobLabel,omitempty"`
		TargetLabels      []string             `json:"targetLabels,omitempty"`
		PodTargetLabels   []string             `json:"podTargetLabels,omitempty"`
		Endpoints         []monitorEndpoint    `json:"endpoints"`
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector *namespaceSelector   `json:"namespaceSelector,omitempty"`
		SampleLimit       *uint64              `json:"sampleLimit,omitempty"`
	} `json:"spec"`
}

// PodMonitor (monitoring.coreos.com/v1).
type PodMonitor struct {
	crdHead `json:",inline"`
	Spec    struct {
		JobLabel            string               `json:"jobLabel,omitempty"`
		PodTargetLabels     []string             `json:"podTargetLabels,omitempty"`
		PodMetricsEndpoints []monitorEndpoint    `json:"podMetricsEndpoints"`
		Selector            metav1.LabelSelector `json:"selector"`
		NamespaceSelector   *namespaceSelector   `json:"namespaceSelector,omitempty"`
		SampleLimit         *uint64              `json:"sampleLimit,omitempty"`
	} `json:"spec"`
}

// monitorEndpoint is a ServiceMonitor endpoint or a PodMonitor
// podMetricsEndpoint (the fields both have).
type monitorEndpoint struct {
	Port              string              `json:"port,omitempty"`
	TargetPort        *intstr.IntOrString `json:"targetPort,omitempty"`
	Path              string              `json:"path,omitempty"`
	Scheme            string              `json:"scheme,omitempty"`
	Params            map[string][]string `json:"params,omitempty"`
	Interval          string              `json:"interval,omitempty"`
	ScrapeTimeout     string              `json:"scrapeTimeout,omitempty"`
	HonorLabels       bool                `json:"honorLabels,omitempty"`
	HonorTimestamps   *bool               `json:"honorTimestamps,omitempty"`
	Relabelings       []relabelConfig     `json:"relabelings,omitempty"`
	MetricRelabelings []relabelConfig     `json:"metricRelabelings,omitempty"`
}

// relabelConfig is a Prometheus relabel_config in the operator's spelling.
type relabelConfig struct {
	SourceLabels []string `json:"sourceLabels,omitempty"`
	Separator    *string  `json:"separator,omitempty"`
	TargetLabel  string   `json:"targetLabel,omitempty"`
	Regex        string   `json:"regex,omitempty"`
	Modulus      uint64   `json:"modulus,omitempty"`
	Replacement  *string  `json:"replacement,omitempty"`
	Action       string   `json:"action,omitempty"`
}

// namespaceSelector picks the namespaces a monitor looks in.
type namespaceSelector struct {
	Any        bool     `json:"any,omitempty"`
	MatchNames []string `json:"matchNames,omitempty"`
}

// PrometheusRule (monitoring.coreos.com/v1).
type PrometheusRule struct {
	crdHead `json:",inline"`
	Spec    struct {
		Groups []ruleGroup `json:"groups"`
	} `json:"spec"`
}

// ruleGroup is a Prometheus rule group.
type ruleGroup struct {
	Name     string `json:"name"`
	Interval string `json:"interval,omitempty"`
	Limit    *int   `json:"limit,omitempty"`
	Rules    []rule `json:"rules"`
}

// rule is an alerting or recording rule.
type rule struct {
	Record        string            `json:"record,omitempty"`
	Alert         string            `json:"alert,omitempty"`
	Expr          string            `json:"expr"`
	For           string            `json:"for,omitempty"`
	KeepFiringFor string            `json:"keep_firing_for,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// ScaledObject (keda.sh/v1alpha1).
type ScaledObject struct {
	crdHead `json:",inline"`
	Spec    struct {
		ScaleTargetRef struct {
			APIVersion    string `json:"apiVersion,omitempty"`
			Kind          string `json:"kind,omitempty"`
			Name          string `json:"name"`
			EnvSourceName string `json:"envSourceContainerName,omitempty"`
		} `json:"scaleTargetRef"`
		PollingInterval  *int32 `json:"pollingInterval,omitempty"`
		CooldownPeriod   *int32 `json:"cooldownPeriod,omitempty"`
		IdleReplicaCount *int32 `json:"idleReplicaCount,omitempty"`
		MinReplicaCount  *int32 `json:"minReplicaCount,omitempty"`
		MaxReplicaCount  *int32 `json:"maxReplicaCount,omitempty"`
		Advanced         *struct {
			RestoreToOriginalReplicaCount bool `json:"restoreToOriginalReplicaCount,omitempty"`
			HorizontalPodAutoscalerConfig *struct {
				Name     string                                         `json:"name,omitempty"`
				Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
			} `json:"horizontalPodAutoscalerConfig,omitempty"`
		} `json:"advanced,omitempty"`
		Fallback *struct {
			FailureThreshold int32 `json:"failureThreshold"`
			Replicas         int32 `json:"replicas"`
		} `json:"fallback,omitempty"`
		Triggers []struct {
			Type              string            `json:"type"`
			Name              string            `json:"name,omitempty"`
			Metadata          map[string]string `json:"metadata"`
			MetricType        string            `json:"metricType,omitempty"`
			UseCachedMetrics  bool              `json:"useCachedMetrics,omitempty"`
			AuthenticationRef *struct {
				Name string `json:"name"`
				Kind string `json:"kind,omitempty"`
			} `json:"authenticationRef,omitempty"`
		} `json:"triggers"`
	} `json:"spec"`
}

// rabbitmqTriggerKeys are the metadata keys KEDA's rabbitmq scaler documents.
var rabbitmqTriggerKeys = map[string]bool{
	"host": true, "hostFromEnv": true, "usernameFromEnv": true, "passwordFromEnv": true,
	"protocol": true, "mode": true, "value": true, "activationValue": true, "queueName": true,
	"vhostName": true, "useRegex": true, "excludeUnacknowledged": true, "pageSize": true,
	"operation": true, "timeout": true, "unsafeSsl": true,
}

// RabbitmqCluster (rabbitmq.com/v1beta1).
type RabbitmqCluster struct {
	crdHead `json:",inline"`
	Spec    struct {
		Replicas         *int32                        `json:"replicas,omitempty"`
		Image            string                        `json:"image,omitempty"`
		ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`
		Service          *struct {
			Type        corev1.ServiceType `json:"type,omitempty"`
			Annotations map[string]string  `json:"annotations,omitempty"`
		} `json:"service,omitempty"`
		Persistence *struct {
			StorageClassName *string            `json:"storageClassName,omitempty"`
			Storage          *resource.Quantity `json:"storage,omitempty"`
		} `json:"persistence,omitempty"`
		Resources   *corev1.ResourceRequirements `json:"resources,omitempty"`
		Affinity    *corev1.Affinity             `json:"affinity,omitempty"`
		Tolerations []corev1.Toleration          `json:"tolerations,omitempty"`
		Rabbitmq    *struct {
			AdditionalPlugins []string `json:"additionalPlugins,omitempty"`
			AdditionalConfig  string   `json:"additionalConfig,omitempty"`
			AdvancedConfig    string   `json:"advancedConfig,omitempty"`
			EnvConfig         string   `json:"envConfig,omitempty"`
		} `json:"rabbitmq,omitempty"`
		TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty"`
		SkipPostDeploySteps           bool   `json:"skipPostDeploySteps,omitempty"`
	} `json:"spec"`
}

// MongoDBCommunity (mongodbcommunity.mongodb.com/v1).
type MongoDBCommunity struct {
	crdHead `json:",inline"`
	Spec    struct {
		Members                     int    `json:"members"`
		Type                        string `json:"type"`
		Version                     string `json:"version"`
		Arbiters                    int    `json:"arbiters,omitempty"`
		FeatureCompatibilityVersion string `json:"featureCompatibilityVersion,omitempty"`
		Security                    struct {
			Authentication struct {
				Modes              []string `json:"modes"`
				IgnoreUnknownUsers *bool    `json:"ignoreUnknownUsers,omitempty"`
			} `json:"authentication"`
			TLS *struct {
				Enabled                 bool `json:"enabled"`
				Optional                bool `json:"optional,omitempty"`
				CertificateKeySecretRef *struct {
					Name string `json:"name"`
				} `json:"certificateKeySecretRef,omitempty"`
				CAConfigMapRef *struct {
					Name string `json:"name"`
				} `json:"caConfigMapRef,omitempty"`
			} `json:"tls,omitempty"`
		} `json:"security"`
		Users []struct {
			Name              string `json:"name"`
			DB                string `json:"db"`
			PasswordSecretRef struct {
				Name string `json:"name"`
				Key  string `json:"key,omitempty"`
			} `json:"passwordSecretRef"`
			Roles []struct {
				Name string `json:"name"`
				DB   string `json:"db"`
			} `json:"roles"`
			ScramCredentialsSecretName string `json:"scramCredentialsSecretName"`
			ConnectionStringSecretName string `json:"connectionStringSecretName,omitempty"`
		} `json:"users"`
		StatefulSet *struct {
			Spec appsv1.StatefulSetSpec `json:"spec"`
		} `json:"statefulSet,omitempty"`
		// AdditionalMongodConfig is free-form mongod configuration.
		AdditionalMongodConfig map[string]any `json:"additionalMongodConfig,omitempty"`
	} `json:"spec"`
}
