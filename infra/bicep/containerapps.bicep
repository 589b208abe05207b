// The GPU worker: a Container Apps environment (internal, in the virtual network) with a serverless GPU workload
// profile; the worker as a Container App scaled from zero by KEDA's azure-servicebus rule on the signatures queue,
// with internal HTTP ingress for search; training as an event-driven Container Apps Job on the training queue (a job
// execution runs to its end: a scale-in never stops an epoch half-way).
@description('Short prefix for resource names.')
param name string

@description('Azure region.')
param location string

@description('Resource id of the user-assigned identity the worker and the job run as (image pulls, scale rules, data).')
param identityId string

@description('Client id of that identity.')
param identityClientId string

param subnetId string
param vnetId string
param workspaceId string
param registryLoginServer string
param blobEndpoint string
param tableEndpoint string
param serviceBusName string
param serviceBusNamespace string
param signatureQueue string
param trainingQueue string

@description('Serverless GPU workload profile type (quota by support request).')
@allowed(['Consumption-GPU-NC8as-T4', 'Consumption-GPU-NC24-A100'])
param gpuProfileType string

@description('Worker image; empty until `az acr build` has pushed it (a placeholder runs, at zero replicas).')
param workerImage string

@description('Training image; empty: the worker image.')
param trainingImage string

@minValue(1)
@maxValue(100)
param maxReplicas int

@description('Active messages per replica before KEDA adds one.')
param messagesPerReplica int

@description('Application settings shared with the Functions app (Motif__ModelVersion, Motif__MaxEps, …), name → value.')
param sharedSettings object

param batchSize int

var placeholderImage = 'mcr.microsoft.com/k8se/quickstart:latest'
var image = empty(workerImage) ? placeholderImage : workerImage
var gpuProfileName = 'gpu'
// What one replica gets on each serverless GPU profile.
var gpuResources = {
  'Consumption-GPU-NC8as-T4': { cpu: '8', memory: '56Gi' }
  'Consumption-GPU-NC24-A100': { cpu: '24', memory: '220Gi' }
}

resource environment 'Microsoft.App/managedEnvironments@2025-01-01' = {
  name: '${name}-env'
  location: location
  properties: {
    // Logs go to Log Analytics through the diagnostic setting below: no workspace key is handed over.
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    vnetConfiguration: {
      infrastructureSubnetId: subnetId
      internal: true
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
      {
        name: gpuProfileName
        workloadProfileType: gpuProfileType
      }
    ]
  }
}

resource environmentLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: environment
  name: 'logs'
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

// The internal environment's names resolve inside the virtual network (the Functions app's integration subnet).
module dns 'privatedns.bicep' = {
  name: 'containerapps-dns'
  params: {
    zoneName: environment.properties.defaultDomain
    ipAddress: environment.properties.staticIp
    vnetId: vnetId
  }
}

// What the worker process reads (Motif.Pipeline.Composition.MotifSettings): identity-based connections only.
var env = [
  { name: 'Motif__Storage', value: 'azure' }
  { name: 'MotifStorage__blobServiceUri', value: blobEndpoint }
  { name: 'MotifStorage__tableServiceUri', value: tableEndpoint }
  { name: 'MotifStorage__credential', value: 'managedidentity' }
  { name: 'MotifStorage__clientId', value: identityClientId }
  { name: 'MotifServiceBus__fullyQualifiedNamespace', value: serviceBusNamespace }
  { name: 'MotifServiceBus__credential', value: 'managedidentity' }
  { name: 'MotifServiceBus__clientId', value: identityClientId }
  { name: 'Motif__ModelVersion', value: sharedSettings.Motif__ModelVersion }
  { name: 'Motif__MaxEps', value: sharedSettings.Motif__MaxEps }
  { name: 'Motif__MinSamples', value: sharedSettings.Motif__MinSamples }
  { name: 'Motif__Xi', value: sharedSettings.Motif__Xi }
  { name: 'Motif__BatchSize', value: string(batchSize) }
  { name: 'Motif__Device', value: 'cuda' }
  { name: 'Motif__Precision', value: 'bf16' }
  { name: 'Motif__Worker__Urls', value: 'http://0.0.0.0:8080' }
  { name: 'AZURE_CLIENT_ID', value: identityClientId }
]

resource worker 'Microsoft.App/containerApps@2025-01-01' = {
  name: '${name}-worker'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environment.id
    workloadProfileName: gpuProfileName
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: false
        targetPort: 8080
        transport: 'http'
        allowInsecure: false
      }
      registries: [
        {
          server: registryLoginServer
          identity: identityId
        }
      ]
    }
    template: {
      // The worker finishes or gives back its batch within 25 s of SIGTERM (Motif__Worker__ShutdownTimeoutSeconds).
      terminationGracePeriodSeconds: 30
      containers: [
        {
          name: 'worker'
          image: image
          env: env
          resources: {
            cpu: json(gpuResources[gpuProfileType].cpu)
            memory: gpuResources[gpuProfileType].memory
          }
          probes: empty(workerImage) ? [] : [
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: 8080
              }
              periodSeconds: 30
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/readyz'
                port: 8080
              }
              periodSeconds: 10
            }
          ]
        }
      ]
      scale: {
        minReplicas: 0
        maxReplicas: maxReplicas
        rules: [
          {
            name: 'signatures'
            custom: {
              type: 'azure-servicebus'
              metadata: {
                queueName: signatureQueue
                namespace: serviceBusName
                messageCount: string(messagesPerReplica)
              }
              identity: identityId
            }
          }
        ]
      }
    }
  }
}

resource training 'Microsoft.App/jobs@2025-01-01' = {
  name: '${name}-training'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environment.id
    workloadProfileName: gpuProfileName
    configuration: {
      triggerType: 'Event'
      // One execution is one training run: up to a day, never cut short by scale-in, retried once.
      replicaTimeout: 86400
      replicaRetryLimit: 1
      eventTriggerConfig: {
        parallelism: 1
        replicaCompletionCount: 1
        scale: {
          minExecutions: 0
          maxExecutions: 1
          pollingInterval: 60
          rules: [
            {
              name: 'training'
              type: 'azure-servicebus'
              metadata: {
                queueName: trainingQueue
                namespace: serviceBusName
                messageCount: '1'
              }
              identity: identityId
            }
          ]
        }
      }
      registries: [
        {
          server: registryLoginServer
          identity: identityId
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'training'
          image: empty(trainingImage) ? image : trainingImage
          // The worker image in its training mode: one job from the training queue, then exit (Motif.Worker/TrainingJobHost.cs).
          args: [
            '--training-job'
          ]
          env: env
          resources: {
            cpu: json(gpuResources[gpuProfileType].cpu)
            memory: gpuResources[gpuProfileType].memory
          }
        }
      ]
    }
  }
}

output environmentName string = environment.name
output workerName string = worker.name
output workerFqdn string = worker.properties.configuration.ingress.fqdn
output trainingJobName string = training.name
