/*
 * bounds: the ranges of years and ids the service accepts, each defined
 * once. PostgreSQL keeps its own checks (sql/); these refuse what cannot
 * be right before a round trip, and name the same numbers in messages.
 */
#ifndef CRM_BOUNDS_H
#define CRM_BOUNDS_H

/* The years a date may carry (a body's YYYY-MM-DD, a query's ?as_of), and
 * a year filter or ?year= of the records (projects, claims, the leaders'
 * activity) may name. */
#define DATE_YEAR_MIN 1900
#define DATE_YEAR_MAX 2999

/* The years that targets, figures and scores are kept for. */
#define KPI_YEAR_MIN 2000
#define KPI_YEAR_MAX 2100

/* The largest id of a record: PostgreSQL's bigint. Ids start at 1. */
#define ID_MAX 9223372036854775807LL

#endif
