import { VersionInfoSchema } from '../schemas/device.js';
import { z } from 'zod';
import { PathSegmentSchema, defineRoute } from './route.js';

/** Web apps and installers exchange an API key for a JWT (API.md section 2). */
export const tokenExchangeRoutes = {
  applicationToken: defineRoute({
    name: 'applicationToken',
    method: 'GET',
    path: '/tokens/application',
    summary: 'An application JWT for the label whose API key is in the apikey header',
    auth: { kind: 'api-key', key: 'label' },
    response: z.string(),
  }),
  installationToken: defineRoute({
    name: 'installationToken',
    method: 'GET',
    path: '/tokens/installation',
    summary: 'A short-lived device registration JWT for the version whose installation key is in the apikey header',
    auth: { kind: 'api-key', key: 'installation' },
    response: z.string(),
  }),
};

/** Version information for holders of an application JWT. */
export const versionInfoRoutes = {
  latestVersionInfo: defineRoute({
    name: 'latestVersionInfo',
    method: 'GET',
    path: '/versions/latest',
    summary: 'The latest allowed version (a pre-release only when recommended); its uris give each OS its latest installer',
    auth: { kind: 'application-token' },
    response: VersionInfoSchema,
  }),
  versionInfo: defineRoute({
    name: 'versionInfo',
    method: 'GET',
    path: '/versions/{id}',
    summary: 'One version',
    auth: { kind: 'application-token' },
    params: z.object({ id: PathSegmentSchema }),
    response: VersionInfoSchema,
    example: { params: { id: '3.8.1' } },
  }),
};

const OsParam = PathSegmentSchema.describe('win32, win64, macos, macosarm, linux32, linux64 or unix');

/** Public installer downloads (API.md section 1); GET routes answer HEAD too. */
export const downloadRoutes = {
  downloadInstaller: defineRoute({
    name: 'downloadInstaller',
    method: 'GET',
    path: '/downloads/installer',
    summary:
      "The latest installer for the OS and architecture of the User-Agent and client hints (404 OS_NOT_DETECTED lists the choices); a browser that prefers text/html gets an error or choice as an HTML page",
    auth: { kind: 'public' },
    produces: 'installer',
  }),
  downloadLatestInstaller: defineRoute({
    name: 'downloadLatestInstaller',
    method: 'GET',
    path: '/downloads/installers/{os}',
    summary: "The installer of the latest allowed version that has one for that OS; a browser that prefers text/html gets an error as an HTML page",
    auth: { kind: 'public' },
    params: z.object({ os: OsParam }),
    produces: 'installer',
    example: { params: { os: 'win64' } },
  }),
  downloadVersionInstaller: defineRoute({
    name: 'downloadVersionInstaller',
    method: 'GET',
    path: '/downloads/installers/{os}/versions/{version}',
    summary: "That version's installer for that OS (410 when the version is not allowed); a browser that prefers text/html gets an error as an HTML page",
    auth: { kind: 'public' },
    params: z.object({ os: OsParam, version: PathSegmentSchema }),
    produces: 'installer',
    example: { params: { os: 'win64', version: '3.8.1' } },
  }),
};
