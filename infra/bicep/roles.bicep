// Every role assignment Motif needs, with Microsoft's built-in role definition ids
// (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
@description('The Functions app identity\'s principal id.')
param functionsPrincipalId string

@description('The worker identity\'s principal id (worker app, training job, their scale rules, image pulls).')
param workerPrincipalId string

param storageName string
param serviceBusName string
param queueNames array
param registryName string
param insightsName string

var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  serviceBusDataOwner: '090c5cfd-751d-490a-894a-3ce6f1109419'
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageName
}

resource serviceBus 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusName
}

resource queues 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = [for queue in queueNames: {
  parent: serviceBus
  name: queue
}]

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: registryName
}

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: insightsName
}

// Functions: the host's own storage (AzureWebJobsStorage: blob leases, the deployment package) needs Blob Data Owner,
// which covers the pipeline's blobs; Queue Data Contributor for the Queue Storage fallback and the host; the catalog.
var storageRoles = [
  { principal: functionsPrincipalId, role: roles.storageBlobDataOwner }
  { principal: functionsPrincipalId, role: roles.storageQueueDataContributor }
  { principal: functionsPrincipalId, role: roles.storageTableDataContributor }
  { principal: workerPrincipalId, role: roles.storageBlobDataContributor }
  { principal: workerPrincipalId, role: roles.storageTableDataContributor }
]

resource storageAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for a in storageRoles: {
  scope: storage
  name: guid(storage.id, a.principal, a.role)
  properties: {
    principalId: a.principal
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.role)
  }
}]

// IngestImage sends signature jobs and POST /api/train training jobs (Data Sender on the namespace covers both
// queues); the worker and the training job receive, complete and abandon them (and may send follow-ups).
var busRoles = [
  { principal: functionsPrincipalId, role: roles.serviceBusDataSender }
  { principal: workerPrincipalId, role: roles.serviceBusDataReceiver }
  { principal: workerPrincipalId, role: roles.serviceBusDataSender }
]

resource busAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for a in busRoles: {
  scope: serviceBus
  name: guid(serviceBus.id, a.principal, a.role)
  properties: {
    principalId: a.principal
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.role)
  }
}]

// KEDA's azure-servicebus scaler reads the queues' message counts through the management API, which needs Manage
// rights: Data Owner, scoped to the two job queues only.
resource scalerAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (queue, i) in queueNames: {
  scope: queues[i]
  name: guid(queues[i].id, workerPrincipalId, roles.serviceBusDataOwner)
  properties: {
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataOwner)
  }
}]

resource acrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: registry
  name: guid(registry.id, workerPrincipalId, roles.acrPull)
  properties: {
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.acrPull)
  }
}

// Application Insights with local authentication off accepts telemetry only from identities with this role.
resource telemetryAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for principal in [functionsPrincipalId, workerPrincipalId]: {
  scope: insights
  name: guid(insights.id, principal, roles.monitoringMetricsPublisher)
  properties: {
    principalId: principal
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}]

output roleDefinitionIds object = roles
