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

// The app's settings, as one object (name → value) on the site's appsettings config below rather than in siteConfig:
// Motif__PublicBaseUrl is the site's own default host name, which the site's own properties cannot refer to.
var appSettings = {
  // The host's own storage (leases, timers' schedule monitor) as the identity.
  AzureWebJobsStorage__accountName: storageName
  AzureWebJobsStorage__credential: identityAuth.credential
  AzureWebJobsStorage__clientId: identityAuth.clientId
  // The pipeline's storage: the blob trigger's connection (MotifStorage) and the adapters.
  MotifStorage__blobServiceUri: blobEndpoint
  MotifStorage__queueServiceUri: queueEndpoint
  MotifStorage__tableServiceUri: tableEndpoint
  MotifStorage__credential: identityAuth.credential
  MotifStorage__clientId: identityAuth.clientId
  // Signature and training jobs go through Service Bus.
  MotifServiceBus__fullyQualifiedNamespace: serviceBusNamespace
  MotifServiceBus__credential: identityAuth.credential
  MotifServiceBus__clientId: identityAuth.clientId
  Motif__Storage: 'azure'
  Motif__ReclusterSchedule: reclusterSchedule
  Motif__WorkerSearchUri: workerSearchUri
  // The root of every IIIF id and image URL the API writes: the app's own host name, never a request's Host header.
  Motif__PublicBaseUrl: 'https://${site.properties.defaultHostName}/'
  Motif__ModelVersion: sharedSettings.Motif__ModelVersion
  Motif__MaxEps: sharedSettings.Motif__MaxEps
  Motif__MinSamples: sharedSettings.Motif__MinSamples
  Motif__Xi: sharedSettings.Motif__Xi
  // Telemetry to Application Insights through Entra ID (local authentication is off there).
  APPLICATIONINSIGHTS_CONNECTION_STRING: insightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  AZURE_CLIENT_ID: identityClientId
  // App Service authentication's "client secret" is the identity's federated credential, named by this setting.
  OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID: identityClientId
}

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
      // No platform CORS: App Service's would answer for every route and override the app's own headers. The app sets
      // Access-Control-Allow-Origin: * itself on the IIIF documents and the derivatives they paint (IiifApi,
      // ImagesApi), which IIIF viewers on other origins must read; the rest of the API stays same-origin.
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
// blobs_extension key and the admin endpoint the master key instead; the health probe is open, and so is IIIF: a
// museum gives the collection's URL to IIIF viewers, which send no token, and the manifests paint the derivatives.
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
        '/api/iiif/*'
        '/api/derivatives/*'
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

// Every setting, after the site exists (its default host name is one of them). This config replaces the app's whole
// settings list: it is the only place the app's settings are written.
resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: appSettings
}

output name string = site.name
output id string = site.id
output defaultHostName string = site.properties.defaultHostName
