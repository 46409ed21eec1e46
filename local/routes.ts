/**
 * Route matching for the local runtime, compiled from `description.routes`
 * (the same list the CDK stack turns into API Gateway routes).
 */
import type { RouteDescription } from '#contract/api';

export interface CompiledRoute {
  readonly route: RouteDescription;
  /** API Gateway's `routeKey`, e.g. `PUT /v1/workflows/{uid}`. */
  readonly routeKey: string;
  readonly pattern: RegExp;
  readonly parameterNames: readonly string[];
}

export type RouteMatch =
  | {
      readonly kind: 'matched';
      readonly route: CompiledRoute;
      readonly pathParameters: Record<string, string>;
    }
  /** The path exists, with other methods. */
  | { readonly kind: 'wrongMethod'; readonly allowedMethods: readonly string[] }
  | { readonly kind: 'notFound' };

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `{name}` matches one non-empty path segment, as in API Gateway. */
export function compileRoutes(routes: readonly RouteDescription[]): CompiledRoute[] {
  return routes.map((route) => {
    const parameterNames: string[] = [];
    const source = route.path
      .split('/')
      .map((segment) => {
        const parameter = /^\{([A-Za-z0-9_]+)\}$/.exec(segment);
        if (!parameter) return escapeRegExp(segment);
        parameterNames.push(parameter[1] as string);
        return '([^/]+)';
      })
      .join('/');
    return {
      route,
      routeKey: `${route.method} ${route.path}`,
      pattern: new RegExp(`^${source}$`),
      parameterNames,
    };
  });
}

const decodeSegment = (segment: string): string => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

/** The route for a method and a raw (still percent-encoded) path. */
export function matchRoute(routes: readonly CompiledRoute[], method: string, rawPath: string): RouteMatch {
  const allowed = new Set<string>();
  for (const compiled of routes) {
    const match = compiled.pattern.exec(rawPath);
    if (!match) continue;
    if (compiled.route.method !== method) {
      allowed.add(compiled.route.method);
      continue;
    }
    const pathParameters: Record<string, string> = {};
    compiled.parameterNames.forEach((name, index) => {
      pathParameters[name] = decodeSegment(match[index + 1] as string);
    });
    return { kind: 'matched', route: compiled, pathParameters };
  }
  return allowed.size > 0 ? { kind: 'wrongMethod', allowedMethods: [...allowed] } : { kind: 'notFound' };
}
