// The Functions app on Flex Consumption (isolated worker, .NET): IngestImage (blob trigger, Event Grid source),
// Recluster (timer) and the HTTP API. It runs as a user-assigned identity; every connection is identity-based.
@description('Short prefix for resource names.')
param name string

@description('Azure region.')
param location string

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity.')
param identityClientId string

param storageName string
param blobEndpoint string
param queueEndpoint string
param tableEndpoint string
param deploymentContainer string
param serviceBusNamespace string

@description('Subnet for outbound virtual network integration (reaches the worker\'s internal ingress).')
param subnetId string

param insightsConnectionString string

@description('The worker\'s search endpoint.')
param workerSearchUri string

@description('Application settings shared with the worker (Motif__ModelVersion, Motif__MaxEps, …), name → value.')
param sharedSettings object

@description('NCRONTAB (with seconds) of Recluster: nightly at 02:00 UTC by default.')
param reclusterSchedule string

@allowed([512, 2048, 4096])
@description('Instance memory of Flex Consumption. Recluster reads the sparse graph and the catalog: 2,048 MB.')
param instanceMemoryMB int

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('.NET version of the isolated worker.')
param runtimeVersion string

@description('Entra ID app registration (client id) that App Service authentication accepts tokens for. Empty: no authentication in front of the API (not for production).')
param authClientId string

@description('Origins allowed to call the API from a browser (IIIF viewers reading manifests and derivatives).')
param corsOrigins array

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${name}-plan'
  location: location
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

// Settings every connection shares: the managed identity, never a key.
var identityAuth = {
  credential: 'managedidentity'
  clientId: identityClientId
}

var appSettings = [
  // The host's own storage (leases, timers' schedule monitor) as the identity.
  { name: 'AzureWebJobsStorage__accountName', value: storageName }
  { name: 'AzureWebJobsStorage__credential', value: identityAuth.credential }
  { name: 'AzureWebJobsStorage__clientId', value: identityAuth.clientId }
  // The pipeline's storage: the blob trigger's connection (MotifStorage) and the adapters.
  { name: 'MotifStorage__blobServiceUri', value: blobEndpoint }
  { name: 'MotifStorage__queueServiceUri', value: queueEndpoint }
  { name: 'MotifStorage__tableServiceUri', value: tableEndpoint }
  { name: 'MotifStorage__credential', value: identityAuth.credential }
  { name: 'MotifStorage__clientId', value: identityAuth.clientId }
  // Signature jobs go through Service Bus.
  { name: 'MotifServiceBus__fullyQualifiedNamespace', value: serviceBusNamespace }
  { name: 'MotifServiceBus__credential', value: identityAuth.credential }
  { name: 'MotifServiceBus__clientId', value: identityAuth.clientId }
  { name: 'Motif__Storage', value: 'azure' }
  { name: 'Motif__ReclusterSchedule', value: reclusterSchedule }
  { name: 'Motif__WorkerSearchUri', value: workerSearchUri }
  { name: 'Motif__ModelVersion', value: sharedSettings.Motif__ModelVersion }
  { name: 'Motif__MaxEps', value: sharedSettings.Motif__MaxEps }
  { name: 'Motif__MinSamples', value: sharedSettings.Motif__MinSamples }
  { name: 'Motif__Xi', value: sharedSettings.Motif__Xi }
  // Telemetry to Application Insights through Entra ID (local authentication is off there).
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insightsConnectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
  { name: 'AZURE_CLIENT_ID', value: identityClientId }
  // App Service authentication's "client secret" is the identity's federated credential, named by this setting.
  { name: 'OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID', value: identityClientId }
]

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: '${name}-${uniqueString(resourceGroup().id)}'
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: subnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      cors: {
        allowedOrigins: corsOrigins
      }
      appSettings: appSettings
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainer}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'dotnet-isolated'
        version: runtimeVersion
      }
    }
  }
}

// No publishing passwords: deployments go through Entra ID (`az functionapp deployment source config-zip`).
resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

// App Service authentication in front of the HTTP API: bearer tokens for the app registration; no client secret
// (the user-assigned identity is the app registration's federated credential). Event Grid's webhook carries the
// blobs_extension key and the admin endpoint the master key instead; the health probe is open.
resource auth 'Microsoft.Web/sites/config@2024-04-01' = if (!empty(authClientId)) {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: [
        '/runtime/webhooks/blobs'
        '/admin/functions/Recluster'
        '/api/health'
      ]
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
          clientSecretSettingName: 'OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID'
        }
        validation: {
          allowedAudiences: [
            'api://${authClientId}'
            authClientId
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

output name string = site.name
output id string = site.id
output defaultHostName string = site.properties.defaultHostName
