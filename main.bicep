// Motif on Azure, in one resource group: `az deployment group create -g <group> -f main.bicep`.
//
//   storage (uploads, motif, deployments, eventgrid-deadletters; catalog table)   Service Bus (signatures, training)
//   Functions app, Flex Consumption: IngestImage ← Event Grid (BlobCreated under uploads/), Recluster (timer), HTTP API
//   Container Apps (serverless GPU): worker scaled from zero on `signatures`; training job on `training`
//   Container Registry, Log Analytics, Application Insights, a virtual network (the worker is internal)
//
// No keys anywhere: shared-key and SAS access are off on storage and Service Bus, Application Insights takes Entra ID
// only, and the apps connect as user-assigned managed identities (MotifStorage__credential=managedidentity, …).
// The Event Grid subscription's webhook key is read with listKeys at deployment time (see infra/bicep/eventgrid.bicep).
// Modules live in infra/bicep; tests/Motif.Deploy.Tests compiles and lints every file and checks the settings the
// code reads (Motif.Pipeline.Composition.MotifSettings) against what this template gives each app.
targetScope = 'resourceGroup'

@description('Short prefix for resource names (letters, digits, hyphens).')
@minLength(3)
@maxLength(11)
param name string = 'motif'

@description('Azure region. Serverless GPUs are offered in a few regions only (see README, "Deploy to Azure").')
param location string = resourceGroup().location

@description('Serverless GPU workload profile of the worker and the training job (quota by support request).')
@allowed(['Consumption-GPU-NC8as-T4', 'Consumption-GPU-NC24-A100'])
param gpuProfile string = 'Consumption-GPU-NC8as-T4'

@description('Worker image, e.g. <registry>.azurecr.io/motif-worker:<tag> after `az acr build`. Empty: a placeholder until then.')
param workerImage string = ''

@description('Training job image. Empty: the worker image.')
param trainingImage string = ''

@description('Most worker replicas (GPUs) the signature queue scales out to.')
@minValue(1)
@maxValue(100)
param workerMaxReplicas int = 4

@description('Waiting signature jobs per worker replica before another starts.')
@minValue(1)
param jobsPerReplica int = 512

@description('Signature jobs per forward pass on the GPU.')
@minValue(1)
@maxValue(4096)
param batchSize int = 256

@description('Model whose signatures intake asks for and the worker computes (the GPU image runs bf16).')
param modelVersion string = 'resnet50-imagenet@1.0.4 224px bf16'

@description('OPTICS max_eps: the worker builds the neighbour graph to this radius and Recluster clusters within it.')
param maxEps string = '0.13'

@description('OPTICS min_samples.')
param minSamples string = '2'

@description('OPTICS xi.')
param xi string = '0.05'

@description('Recluster\'s NCRONTAB schedule (with seconds), UTC.')
param reclusterSchedule string = '0 0 2 * * *'

@description('Flex Consumption instance memory (MB).')
@allowed([512, 2048, 4096])
param functionsInstanceMemoryMB int = 2048

@description('Flex Consumption maximum instances.')
@minValue(1)
@maxValue(1000)
param functionsMaximumInstances int = 40

@description('.NET version of the Functions isolated worker.')
param functionsRuntimeVersion string = '10.0'

@description('Entra ID app registration (client id) whose tokens the HTTP API accepts. Empty: no App Service authentication (testing only).')
param authClientId string = ''

@description('Origins allowed to call the blob service from a browser with an Entra token. Not for IIIF viewers: they read through the Functions API (public blob access stays off).')
param corsOrigins array = ['*']

@description('Quarantined files: days before the cool tier, and before deletion (catalog records stay).')
param quarantineCoolAfterDays int = 30
param quarantineDeleteAfterDays int = 365

@description('Create the Event Grid subscription to IngestImage. Set true on the second run, after the app\'s code is deployed: Event Grid validates the webhook when it subscribes.')
param subscribeUploads bool = false

@description('Log Analytics retention (days).')
param logRetentionDays int = 30

// The names the code uses (Motif.Pipeline.Composition.MotifSettings, IngestImage's trigger path uploads/{name}).
// Changing one here without the code breaks the deployment; tests/Motif.Deploy.Tests checks that they agree.
var names = {
  uploadsContainer: 'uploads'
  dataContainer: 'motif'
  deploymentContainer: 'deployments'
  deadLetterContainer: 'eventgrid-deadletters'
  catalogTable: 'catalog'
  signatureQueue: 'signatures'
  trainingQueue: 'training'
  ingestFunction: 'IngestImage'
}

// Settings the two apps must agree on: one value each, given to both.
var sharedSettings = {
  Motif__ModelVersion: modelVersion
  Motif__MaxEps: maxEps
  Motif__MinSamples: minSamples
  Motif__Xi: xi
}

resource functionsIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${name}-functions'
  location: location
}

resource workerIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${name}-worker'
  location: location
}

module monitoring 'infra/bicep/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    name: name
    location: location
    retentionDays: logRetentionDays
  }
}

module storage 'infra/bicep/storage.bicep' = {
  name: 'storage'
  params: {
    name: name
    location: location
    uploadsContainer: names.uploadsContainer
    dataContainer: names.dataContainer
    deploymentContainer: names.deploymentContainer
    deadLetterContainer: names.deadLetterContainer
    catalogTable: names.catalogTable
    // Queue Storage twins of the Service Bus queues (motif dev's transport), with their poison queues.
    queues: [
      names.signatureQueue
      '${names.signatureQueue}-poison'
      names.trainingQueue
      '${names.trainingQueue}-poison'
    ]
    corsOrigins: corsOrigins
    quarantineCoolAfterDays: quarantineCoolAfterDays
    quarantineDeleteAfterDays: quarantineDeleteAfterDays
  }
}

// Lock 5 minutes (Service Bus's maximum; the worker renews it) and 5 deliveries: MotifPipelineOptions.SignatureJobs.
module serviceBus 'infra/bicep/servicebus.bicep' = {
  name: 'servicebus'
  params: {
    name: name
    location: location
    queues: [
      { name: names.signatureQueue, lockDuration: 'PT5M', maxDeliveryCount: 5, timeToLive: 'P14D' }
      { name: names.trainingQueue, lockDuration: 'PT5M', maxDeliveryCount: 3, timeToLive: 'P7D' }
    ]
  }
}

module registry 'infra/bicep/registry.bicep' = {
  name: 'registry'
  params: {
    name: name
    location: location
  }
}

module network 'infra/bicep/network.bicep' = {
  name: 'network'
  params: {
    name: name
    location: location
  }
}

module roles 'infra/bicep/roles.bicep' = {
  name: 'roles'
  params: {
    functionsPrincipalId: functionsIdentity.properties.principalId
    workerPrincipalId: workerIdentity.properties.principalId
    storageName: storage.outputs.name
    serviceBusName: serviceBus.outputs.name
    queueNames: [names.signatureQueue, names.trainingQueue]
    registryName: registry.outputs.name
    insightsName: monitoring.outputs.insightsName
  }
}

module containerApps 'infra/bicep/containerapps.bicep' = {
  name: 'containerapps'
  params: {
    name: name
    location: location
    identityId: workerIdentity.id
    identityClientId: workerIdentity.properties.clientId
    subnetId: network.outputs.containerAppsSubnetId
    vnetId: network.outputs.id
    workspaceId: monitoring.outputs.workspaceId
    registryLoginServer: registry.outputs.loginServer
    blobEndpoint: storage.outputs.blobEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    serviceBusName: serviceBus.outputs.name
    serviceBusNamespace: serviceBus.outputs.fullyQualifiedNamespace
    signatureQueue: names.signatureQueue
    trainingQueue: names.trainingQueue
    gpuProfileType: gpuProfile
    workerImage: workerImage
    trainingImage: trainingImage
    maxReplicas: workerMaxReplicas
    messagesPerReplica: jobsPerReplica
    sharedSettings: sharedSettings
    batchSize: batchSize
  }
  // The worker pulls its image and reads its queue as its identity: the roles first.
  dependsOn: [roles]
}

module functions 'infra/bicep/functions.bicep' = {
  name: 'functions'
  params: {
    name: name
    location: location
    identityId: functionsIdentity.id
    identityClientId: functionsIdentity.properties.clientId
    storageName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainer: names.deploymentContainer
    serviceBusNamespace: serviceBus.outputs.fullyQualifiedNamespace
    subnetId: network.outputs.functionsSubnetId
    insightsConnectionString: monitoring.outputs.insightsConnectionString
    workerSearchUri: 'https://${containerApps.outputs.workerFqdn}/search'
    sharedSettings: sharedSettings
    reclusterSchedule: reclusterSchedule
    instanceMemoryMB: functionsInstanceMemoryMB
    maximumInstanceCount: functionsMaximumInstances
    runtimeVersion: functionsRuntimeVersion
    authClientId: authClientId
  }
  dependsOn: [roles]
}

module eventGrid 'infra/bicep/eventgrid.bicep' = if (subscribeUploads) {
  name: 'eventgrid'
  params: {
    name: name
    location: location
    storageName: storage.outputs.name
    functionAppName: functions.outputs.name
    functionName: names.ingestFunction
    uploadsContainer: names.uploadsContainer
    deadLetterContainer: names.deadLetterContainer
    identityId: functionsIdentity.id
    maxDeliveryAttempts: 30
    eventTimeToLiveInMinutes: 1440
  }
  dependsOn: [roles]
}

output storageAccountName string = storage.outputs.name
output blobEndpoint string = storage.outputs.blobEndpoint
output uploadsContainer string = names.uploadsContainer
output serviceBusNamespace string = serviceBus.outputs.fullyQualifiedNamespace
output functionAppName string = functions.outputs.name
@description('The IIIF Presentation 3 collection of the latest run: the URL a museum gives to a IIIF viewer.')
output iiifCollectionUrl string = 'https://${functions.outputs.defaultHostName}/api/iiif/collection.json'
output apiBaseUrl string = 'https://${functions.outputs.defaultHostName}/api'
output registryName string = registry.outputs.name
output registryLoginServer string = registry.outputs.loginServer
output workerAppName string = containerApps.outputs.workerName
output workerSearchUri string = 'https://${containerApps.outputs.workerFqdn}/search'
output trainingJobName string = containerApps.outputs.trainingJobName
output functionsIdentityClientId string = functionsIdentity.properties.clientId
output workerIdentityClientId string = workerIdentity.properties.clientId
output eventSubscription string = subscribeUploads ? '${eventGrid!.outputs.topicName}/${eventGrid!.outputs.subscriptionName}' : 'not yet: deploy the code, then rerun with subscribeUploads=true'
