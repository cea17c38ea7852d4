import { SDK_SERVICES } from './sdk-operations';

/**
 * The execution roles of the generic path, by what an action can do: a session minted for a
 * read can never change anything, whatever its session policy says.
 */
export const GENERIC_ROLE_CLASS = {
  read: 'generic-read',
  change: 'generic-change',
} as const;
export type GenericRoleClass = (typeof GENERIC_ROLE_CLASS)[keyof typeof GENERIC_ROLE_CLASS];

/** IAM access levels that only look: everything else changes something. */
const LOOKING_ACCESS_LEVELS: ReadonlySet<string> = new Set(['List', 'Read']);

/** The class whose role runs a generic action with these IAM access levels. */
export function genericRoleClassOf(accessLevels: readonly string[]): GenericRoleClass {
  return accessLevels.length > 0 && accessLevels.every((level) => LOOKING_ACCESS_LEVELS.has(level))
    ? GENERIC_ROLE_CLASS.read
    : GENERIC_ROLE_CLASS.change;
}

/** Read and List actions of the shipped services whose names do not start with a reading verb. */
export const OTHER_READ_ACTIONS: readonly string[] = [
  'cloudformation:BatchDescribeTypeConfigurations',
  'cloudformation:DetectStackDrift',
  'cloudformation:DetectStackResourceDrift',
  'cloudformation:DetectStackSetDrift',
  'cloudformation:EstimateTemplateCost',
  'cloudformation:ValidateTemplate',
  'cloudwatch:BatchGetServiceLevelIndicatorReport',
  'cloudwatch:BatchGetServiceLevelObjectiveBudgetReport',
  'cloudwatch:GenerateQuery',
  'cloudwatch:GenerateQueryResultsSummary',
  'dynamodb:BatchGetItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:PartiQLSelect',
  'dynamodb:Query',
  'dynamodb:ReadDataForReplication',
  'dynamodb:Scan',
  'dynamodb:SearchVectors',
  'ec2:ExportClientVpnClientCertificateRevocationList',
  'ec2:ExportClientVpnClientConfiguration',
  'ec2:ExportVerifiedAccessInstanceClientConfiguration',
  'ec2:SearchLocalGatewayRoutes',
  'ec2:SearchTransitGatewayMulticastGroups',
  'ec2:SearchTransitGatewayRoutes',
  'ec2:StartDeclarativePoliciesReport',
  'ec2:ValidateSecurityGroupQuotasForInterface',
  'ecr:BatchCheckLayerAvailability',
  'ecr:BatchGetImage',
  'ecr:BatchGetRepositoryScanningConfiguration',
  'ecr:ValidatePullThroughCacheRule',
  'eks:AccessKubernetesApi',
  'events:TestEventPattern',
  'iam:GenerateCredentialReport',
  'iam:GenerateOrganizationsAccessReport',
  'iam:GenerateServiceLastAccessedDetails',
  'iam:SimulateCustomPolicy',
  'iam:SimulatePrincipalPolicy',
  'logs:FilterLogEvents',
  'logs:StartLiveTail',
  'logs:StartQuery',
  'logs:StopLiveTail',
  'logs:StopQuery',
  'logs:TestMetricFilter',
  'logs:TestTransformer',
  'logs:Unmask',
  'rds:DownloadCompleteDBLogFile',
  'rds:DownloadDBLogFilePortion',
  'route53:TestDNSAnswer',
  's3:AllowVendedLogDeliveryForResource',
  'secretsmanager:BatchGetSecretValue',
  'sns:CheckIfPhoneNumberIsOptedOut',
  'sqs:ReceiveMessage',
  'ssm:ExecuteAPI',
  'ssm:PutConfigurePackageResult',
  'ssm:StartExecutionPreview',
  'ssm:ValidateCloudConnector',
  'states:RevealSecrets',
  'states:ValidateStateMachineDefinition',
];

/** Actions a reading verb names that IAM classes as Write: the read role is denied them. */
export const WRITES_NAMED_AS_READS: readonly string[] = ['states:GetActivityTask'];

/**
 * What a generic class's role may do at most, for every shipped service: the read role only the
 * read and list verbs, the change role the whole service. The session policy narrows either to
 * one action on one resource.
 */
export function genericCeilingActions(roleClass: GenericRoleClass): string[] {
  const prefixes = Object.keys(SDK_SERVICES).sort();
  return roleClass === GENERIC_ROLE_CLASS.read
    ? [
        ...prefixes.flatMap((prefix) => [`${prefix}:Describe*`, `${prefix}:Get*`, `${prefix}:List*`]),
        ...OTHER_READ_ACTIONS,
      ]
    : prefixes.map((prefix) => `${prefix}:*`);
}
