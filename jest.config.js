/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/model', '<rootDir>/cases', '<rootDir>/properties', '<rootDir>/fuzz', '<rootDir>/report', '<rootDir>/cli', '<rootDir>/kvm', '<rootDir>/lab', '<rootDir>/lifecycle', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testTimeout: 120000,
  // JUnit XML for CI (reports/junit/junit.xml, git-ignored); test names carry their seeds.
  reporters: [
    'default',
    ['jest-junit', { outputDirectory: 'reports/junit', outputName: 'junit.xml', suiteNameTemplate: '{filepath}', classNameTemplate: '{filepath}', titleTemplate: '{title}', ancestorSeparator: ' › ', addFileAttribute: 'true' }],
  ],
};
