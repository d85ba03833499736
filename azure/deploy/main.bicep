// agent-coordinator on Azure: Function App (Node 20, Functions v4), Service Bus (the
// `agent-coordination` topic with a subscription per agent filtered on `target_agent`, the
// coordinator's own subscription, an inbound queue and a rejected-messages queue), Cosmos DB
// (NoSQL, container `state` partitioned on /pk with per-item TTL), and the app settings.
//
//   az group create -n agent-coordinator -l westeurope
//   az deployment group create -g agent-coordinator -f azure/deploy/main.bicep \
//     -p prefix=acoord agents='["npa","coach"]'
//
// See docs/azure.md for the code deploy and a test message.

@description('Short prefix for every resource name: lowercase letters and digits, 3-11 characters.')
@minLength(3)
@maxLength(11)
param prefix string

param location string = resourceGroup().location

@description('Agent ids that get their own subscription on the assignments topic.')
param agents array = []

@description('rules (deterministic) or azure-openai.')
@allowed(['rules', 'azure-openai'])
param router string = 'rules'

param azureOpenAiEndpoint string = ''
param azureOpenAiDeployment string = 'gpt-4o-mini'
param azureOpenAiApiVersion string = '2024-10-21'
@secure()
param azureOpenAiApiKey string = ''

@description('Optional shared secret the HTTP API also requires (Authorization: Bearer ...), at least 16 characters.')
@secure()
param authToken string = ''

@description('NCRONTAB schedule of the sweep (seconds first).')
param sweepSchedule string = '0 */1 * * * *'

param recordTtlDays int = 30

var suffix = uniqueString(resourceGroup().id, prefix)
var topicName = 'agent-coordination'
var outboundTypes = '(\'Task Assignment\', \'Task Rejected\', \'Task Failed\')'

// ---------------------------------------------------------------- Service Bus

resource serviceBus 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: '${prefix}-sb-${suffix}'
  location: location
  sku: { name: 'Standard', tier: 'Standard' } // topics need Standard
  properties: { disableLocalAuth: true }
}

// No shared access keys: the Function App's managed identity gets data-plane roles on the
// entities it uses (see "Access" below), and local (key) auth is off.

resource topic 'Microsoft.ServiceBus/namespaces/topics@2022-10-01-preview' = {
  parent: serviceBus
  name: topicName
  properties: {
    requiresDuplicateDetection: true // event ids are deterministic: a republished event is dropped
    duplicateDetectionHistoryTimeWindow: 'PT1H'
    defaultMessageTimeToLive: 'P1D'
  }
}

// Events agents publish to the topic for the coordinator: anything that is not an outbound event.
resource coordinatorSubscription 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = {
  parent: topic
  name: 'coordinator'
  properties: { maxDeliveryCount: 10, lockDuration: 'PT1M', deadLetteringOnMessageExpiration: true }
}

resource coordinatorRule 'Microsoft.ServiceBus/namespaces/topics/subscriptions/rules@2022-10-01-preview' = {
  parent: coordinatorSubscription
  name: '$Default'
  properties: {
    filterType: 'SqlFilter'
    sqlFilter: { sqlExpression: 'event_type IS NULL OR event_type NOT IN ${outboundTypes}' }
  }
}

resource agentSubscriptions 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = [
  for agent in agents: {
    parent: topic
    name: 'agent-${agent}'
    properties: { maxDeliveryCount: 10, lockDuration: 'PT1M', deadLetteringOnMessageExpiration: true }
  }
]

resource agentRules 'Microsoft.ServiceBus/namespaces/topics/subscriptions/rules@2022-10-01-preview' = [
  for (agent, i) in agents: {
    parent: agentSubscriptions[i]
    name: '$Default'
    properties: {
      filterType: 'SqlFilter'
      sqlFilter: { sqlExpression: 'target_agent = \'${agent}\'' }
    }
  }
]

resource inboundQueue 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: serviceBus
  name: 'coordinator-inbound'
  properties: {
    maxDeliveryCount: 10
    lockDuration: 'PT1M'
    deadLetteringOnMessageExpiration: true
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT1H'
  }
}

resource rejectedQueue 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: serviceBus
  name: 'coordinator-rejected'
  properties: {
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT1H'
    defaultMessageTimeToLive: 'P14D'
  }
}

// ---------------------------------------------------------------- Cosmos DB

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2024-05-15' = {
  name: '${prefix}-cosmos-${suffix}'
  location: location
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    locations: [{ locationName: location, failoverPriority: 0 }]
    consistencyPolicy: { defaultConsistencyLevel: 'Session' }
    capabilities: [{ name: 'EnableServerless' }]
    disableLocalAuth: true // Entra ID only: the app signs in as its managed identity
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-05-15' = {
  parent: cosmos
  name: 'agent-coordinator'
  properties: { resource: { id: 'agent-coordinator' } }
}

resource stateContainer 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-05-15' = {
  parent: database
  name: 'state'
  properties: {
    resource: {
      id: 'state'
      partitionKey: { paths: ['/pk'], kind: 'Hash', version: 2 }
      defaultTtl: -1 // TTL on, per item: each document carries its own `ttl`
      indexingPolicy: {
        indexingMode: 'consistent'
        includedPaths: [{ path: '/pk/?' }, { path: '/kind/?' }, { path: '/status/?' }, { path: '/queue_key/?' }]
        excludedPaths: [{ path: '/*' }] // the record body is never queried on
        compositeIndexes: [
          [
            { path: '/status', order: 'ascending' }
            { path: '/queue_key', order: 'ascending' }
          ]
        ]
      }
    }
  }
}

// ---------------------------------------------------------------- Function App

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: take('${prefix}st${suffix}', 24)
  location: location
  sku: { name: 'Standard_LRS' }
  kind: 'StorageV2'
  properties: { minimumTlsVersion: 'TLS1_2', allowBlobPublicAccess: false }
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${prefix}-plan-${suffix}'
  location: location
  sku: { name: 'Y1', tier: 'Dynamic' }
  kind: 'functionapp'
  properties: { reserved: true } // Linux
}

var storageConnection = 'DefaultEndpointsProtocol=https;AccountName=${storage.name};EndpointSuffix=${environment().suffixes.storage};AccountKey=${storage.listKeys().keys[0].value}'

resource functionApp 'Microsoft.Web/sites@2023-12-01' = {
  name: '${prefix}-func-${suffix}'
  location: location
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      linuxFxVersion: 'Node|20'
      minTlsVersion: '1.2'
      appSettings: [
        { name: 'FUNCTIONS_EXTENSION_VERSION', value: '~4' }
        { name: 'FUNCTIONS_WORKER_RUNTIME', value: 'node' }
        { name: 'AzureWebJobsStorage', value: storageConnection }
        // Identity-based connections: the triggers read `<connection>__fullyQualifiedNamespace`,
        // the runtime's senders SERVICE_BUS_NAMESPACE.
        { name: 'SERVICE_BUS_CONNECTION__fullyQualifiedNamespace', value: serviceBusHost }
        { name: 'SERVICE_BUS_NAMESPACE', value: serviceBusHost }
        { name: 'SERVICE_BUS_TOPIC', value: topicName }
        { name: 'SERVICE_BUS_REJECTED_QUEUE', value: rejectedQueue.name }
        { name: 'SWEEP_SCHEDULE', value: sweepSchedule }
        { name: 'COSMOS_ENDPOINT', value: cosmos.properties.documentEndpoint }
        { name: 'COSMOS_DATABASE', value: database.name }
        { name: 'COSMOS_CONTAINER', value: stateContainer.name }
        { name: 'RECORD_TTL_DAYS', value: string(recordTtlDays) }
        { name: 'ROUTER', value: router }
        { name: 'AZURE_OPENAI_ENDPOINT', value: azureOpenAiEndpoint }
        { name: 'AZURE_OPENAI_DEPLOYMENT', value: azureOpenAiDeployment }
        { name: 'AZURE_OPENAI_API_VERSION', value: azureOpenAiApiVersion }
        { name: 'AZURE_OPENAI_API_KEY', value: azureOpenAiApiKey }
        { name: 'AUTH_TOKEN', value: authToken }
      ]
    }
  }
}

// ---------------------------------------------------------------- Access (least privilege)

var serviceBusHost = '${serviceBus.name}.servicebus.windows.net'
var serviceBusDataSender = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39')
var serviceBusDataReceiver = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0')

// Sends: assignments to the topic, bad messages to the rejected queue. Nothing else.
resource sendToTopic 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic.id, functionApp.id, 'send')
  scope: topic
  properties: { roleDefinitionId: serviceBusDataSender, principalId: functionApp.identity.principalId, principalType: 'ServicePrincipal' }
}

resource sendToRejected 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(rejectedQueue.id, functionApp.id, 'send')
  scope: rejectedQueue
  properties: { roleDefinitionId: serviceBusDataSender, principalId: functionApp.identity.principalId, principalType: 'ServicePrincipal' }
}

// Receives: the inbound queue and the coordinator's own subscription. Nothing else.
resource receiveInbound 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(inboundQueue.id, functionApp.id, 'receive')
  scope: inboundQueue
  properties: { roleDefinitionId: serviceBusDataReceiver, principalId: functionApp.identity.principalId, principalType: 'ServicePrincipal' }
}

resource receiveCoordinatorSubscription 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(coordinatorSubscription.id, functionApp.id, 'receive')
  scope: coordinatorSubscription
  properties: { roleDefinitionId: serviceBusDataReceiver, principalId: functionApp.identity.principalId, principalType: 'ServicePrincipal' }
}

// Cosmos DB data plane: the built-in Data Contributor (items only, no account or key management),
// on the coordinator's database only.
resource cosmosDataAccess 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-05-15' = {
  parent: cosmos
  name: guid(database.id, functionApp.id, 'data-contributor')
  properties: {
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/00000000-0000-0000-0000-000000000002'
    principalId: functionApp.identity.principalId
    scope: '${cosmos.id}/dbs/${database.name}'
  }
}

output functionAppName string = functionApp.name
output apiBaseUrl string = 'https://${functionApp.properties.defaultHostName}/api'
output serviceBusNamespace string = serviceBus.name
output cosmosAccount string = cosmos.name
