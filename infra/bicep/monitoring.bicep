// Log Analytics and Application Insights. Application Insights takes Entra ID authentication only
// (disableLocalAuth): the apps export with their managed identity and the Monitoring Metrics Publisher role.
@description('Short prefix for resource names.')
param name string

@description('Azure region.')
param location string

@description('Days Log Analytics keeps logs.')
@minValue(30)
@maxValue(730)
param retentionDays int = 30

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${name}-logs'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionDays
    features: {
      disableLocalAuth: true
    }
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${name}-insights'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

output workspaceId string = workspace.id
output insightsName string = insights.name
output insightsId string = insights.id
// Not a secret: with local authentication off it only names where telemetry goes; ingestion needs an Entra token.
output insightsConnectionString string = insights.properties.ConnectionString
