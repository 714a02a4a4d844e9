/** Answers taken from the examples of storage-api.apib (trailing commas of the blueprint removed). */

export const tokenVerify = {
  id: '44',
  created: '2017-02-13T10:27:50+0100',
  description: '',
  uri: 'https://connection.keboola.com/v2/storage/tokens/44',
  isMasterToken: true,
  canManageBuckets: true,
  canManageTokens: true,
  canReadAllFileUploads: true,
  expires: null,
  isExpired: false,
  isDisabled: false,
  token: 'tok-SECRET-0123456789abcdef',
  bucketPermissions: { 'in.c-test': 'manage' },
  admin: { id: 124, name: 'John Doe', features: [], isOrganizationMember: true, role: 'admin', isActivated: false },
  organization: { id: 123 },
  owner: {
    name: 'Buckets 5',
    id: '58',
    type: 'production',
    region: 'us-east-1',
    created: '2022-08-18T08:47:07+0200',
    expires: null,
    features: [],
    dataSizeBytes: 112128,
    rowsCount: 1036,
    hasMysql: false,
    hasSynapse: false,
    hasSnowflake: true,
    hasExasol: false,
    hasTeradata: false,
    hasBigquery: false,
    defaultBackend: 'snowflake',
    hasTryModeOn: '0',
    limits: { 'kbc.adminsCount': { name: 'kbc.adminsCount', value: 10 } },
    isDisabled: false,
    dataRetentionTimeInDays: 7,
    assignedBackends: ['snowflake'],
    fileStorageProvider: 'aws',
  },
};

export const apiIndex = {
  api: 'storage',
  documentation: 'http://docs.keboola.apiary.io/',
  version: 'v2',
  components: [
    { id: 'orchestrator-2', uri: 'https://orchestrator-2.keboola.com/' },
    { id: 'keboola.ex-db-snowflake', type: 'extractor', name: 'Snowflake', flags: ['genericDockerUI'] },
  ],
  services: [
    { id: 'docker-runner', url: 'https://docker-runner.keboola.com' },
    { id: 'syrup', url: 'https://syrup.keboola.com' },
  ],
  features: ['disable-sync-import-data'],
  urlTemplates: { orchestrationJob: '/admin/projects/&&projectId&&/orchestrations/&&orchestrationId&&/jobs/&&jobId&&' },
};

export const devBranches = [
  { id: 123, name: 'My branch', description: '', created: '2020-09-17T12:17:32+0200', isDefault: false, creatorToken: { id: 267, name: 'dev@keboola.com' } },
  { id: 5, name: 'Main', description: '', created: '2020-09-22T13:05:04+0200', isDefault: true, creatorToken: [] },
];

export const metadataList = [
  { id: '123', provider: 'keboola.some-komponent', timestamp: '2016-09-19 13:02:11', key: 'attribute_key', value: 'attribute_value' },
];

export const branchMetadata = [{ id: '19509', key: 'KBC.projectDescription', value: 'Some value', timestamp: '2017-02-13 23:36:10' }];

export const bucket = {
  uri: 'https://connection.keboola.com/v2/storage/buckets/in.c-main',
  id: 'in.c-main',
  name: 'c-main',
  displayName: 'main',
  stage: 'in',
  description: 'Main user storage',
  tables: 'https://connection.keboola.com/v2/storage/buckets/in.c-main/tables',
  backend: 'snowflake',
  owner: { id: 123, name: 'Jan Developer', email: 'jan.dev@keboola.com' },
  updated: '2024-11-28T13:03:13+0100',
  color: null,
  isLinkedBucket: false,
  backendPath: ['KBC_PRJ_123', 'in.c-main'],
  metadata: [
    { id: '206180828', key: 'KBC.createdBy.component.id', value: 'keboola.ex-db-snowflake', provider: 'user', timestamp: '2019-08-12T14:36:08+0200' },
  ],
};

export const linkedBucket = {
  uri: 'https://connection.keboola.com/v2/storage/buckets/in.c-organizationData',
  id: 'in.c-organizationData',
  name: 'c-organizationData',
  displayName: 'organization',
  stage: 'in',
  description: 'Source bucket description',
  tables: 'https://connection.keboola.com/v2/storage/buckets/in.c-organizationData/tables',
  backend: 'snowflake',
  isReadonly: true,
  sourceBucket: { id: 'in.c-main', name: 'c-main', description: 'Organization shared data', project: { id: 123, name: 'Project name' } },
  owner: null,
  color: '#FF0000',
  isLinkedBucket: true,
};

export const table = {
  uri: 'https://connection.keboola.com/v2/storage/tables/in.c-main.cashier-data',
  id: 'in.c-main.cashier-data',
  name: 'cashier-data',
  displayName: 'cashier-data-displayName',
  transactional: false,
  primaryKey: ['visit_id'],
  created: '2016-06-23T20:41:07+0200',
  lastImportDate: '2016-07-07T11:25:32+0200',
  lastChangeDate: '2016-07-07T11:25:34+0200',
  rowsCount: 18,
  dataSizeBytes: 12288,
  isAlias: false,
  isAliasable: true,
  isTyped: true,
  timestampType: 'MANAGED',
  tableType: 'table',
  path: 'kbc_578.c-main.cashier-data',
  definition: {
    primaryKeysNames: ['visit_id'],
    columns: [
      { name: 'visit_id', definition: { type: 'VARCHAR', nullable: false, length: 16777216 }, basetype: 'STRING', canBeFiltered: true },
      { name: 'number_of_items', definition: { type: 'NUMBER', nullable: true, length: '38,0' }, basetype: 'NUMERIC' },
    ],
  },
  columns: ['visit_id', 'number_of_items'],
  metadata: [],
  columnMetadata: {
    number_of_items: [{ id: '207947778', key: 'KBC.datatype.basetype', value: 'INTEGER', provider: 'user', timestamp: '2019-08-14T16:55:34+0200' }],
  },
  bucket: {
    uri: 'https://connection.keboola.com/v2/storage/buckets/in.c-main',
    id: 'in.c-main',
    name: 'c-main',
    stage: 'in',
    description: '',
    backend: 'snowflake',
    sharing: null,
  },
};

export const aliasTable = {
  uri: 'https://connection.keboola.com/v2/storage/tables/in.c-main.cashier-data-alias',
  id: 'in.c-main.cashier-data-alias',
  name: 'cashier-data-alias',
  transactional: false,
  primaryKey: [],
  created: '2016-06-23T20:41:38+0200',
  lastImportDate: '2016-07-07T11:26:03+0200',
  rowsCount: null,
  dataSizeBytes: null,
  isAlias: true,
  sourceTable: {
    id: 'in.c-main.cashier-data',
    uri: 'https://connection.keboola.com/v2/storage/tables/in.c-main.cashier-data',
    isAlias: false,
    project: { id: 578, name: 'Some source project' },
  },
  aliasColumnsAutoSync: false,
  aliasFilter: { column: 'visit_id', operator: 'eq', values: ['1', '2'] },
  columns: ['visit_id'],
  metadata: [],
  columnMetadata: [],
  bucket: { id: 'in.c-main', name: 'c-main', stage: 'in' },
};

export const configuration = {
  id: 'main-1',
  name: 'Main 1',
  description: '',
  created: '2016-05-11T14:33:50+0200',
  creatorToken: { id: 67, description: 'dev@keboola.com' },
  version: 2,
  changeDescription: 'Row row1 added',
  isDeleted: false,
  configuration: { key1: 'val1' },
  currentVersion: {
    created: '2016-05-11T14:33:50+0200',
    creatorToken: { id: 67, description: 'dev@keboola.com' },
    changeDescription: 'Row row1 added',
    versionIdentifier: '01H2W8N0ZJJB6V126C8ZSND28N',
  },
  rowsSortOrder: ['row1'],
  rows: [
    {
      id: 'row1',
      configuration: { key2: 'val2' },
      state: [],
      version: 1,
      created: '2016-05-11T14:33:50+0200',
      creatorToken: { id: 67, description: 'dev@keboola.com' },
      changeDescription: null,
    },
  ],
  state: { lastId: 3 },
};

export const components = [
  {
    id: 'keboola.app-tree',
    type: 'application',
    name: 'Tree depth',
    description: 'Application which computes a tree depth.',
    hasUI: false,
    flags: ['genericDockerUI'],
    uri: 'https://syrup.keboola.com/docker/keboola.app-tree',
    configurations: [configuration],
    dataTypesConfiguration: {},
  },
];

export const row = {
  id: '236781646',
  configuration: { host: 'localhost', port: 4406 },
  state: {},
  name: '',
  description: '',
  isDisabled: false,
  version: 1,
  created: '2017-02-15T00:05:32+0100',
  creatorToken: { id: 27978, description: 'ondrej.popelka@keboola.com' },
  changeDescription: 'Added new row',
};
