/** What the AWS infra step records for an instance `prod` in eu-west-1, as the cluster layers read it. */
export const AWS_RECORDED_INFRA = {
  clusterName: 'lookout-prod',
  clusterEndpoint: 'https://example.eks.amazonaws.com',
  clusterCertificateAuthority: 'Q0E=',
  region: 'eu-west-1',
  buckets: { metrics: 'lookout-prod-metrics-0123abcd', logs: 'lookout-prod-logs-0123abcd', rules: 'lookout-prod-rules-0123abcd' },
  zoneId: 'Z1',
  roleArns: {
    metricsStore: 'arn:aws:iam::123456789012:role/lookout-prod-metrics-store',
    ruler: 'arn:aws:iam::123456789012:role/lookout-prod-ruler',
    alertmanager: 'arn:aws:iam::123456789012:role/lookout-prod-alertmanager',
  },
  clusterCidrs: ['10.0.0.0/16', '172.20.0.0/16'],
};
